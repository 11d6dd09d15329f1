/** Which moment of a run a ping announces. */
export type PingKind = "start" | "success" | "failure";

/**
 * The URL a ping goes to, in the healthchecks.io convention: `URL/start` when a run starts,
 * `URL` when it succeeds, `URL/fail` when it fails (a query string stays at the end).
 */
export function pingUrl(base: string, kind: PingKind): string {
  if (kind === "success") return base;
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/${kind === "start" ? "start" : "fail"}`;
  return u.toString();
}

/**
 * Sends one ping: a POST whose body is `body` (the run's summary and last log lines, at most
 * 10 kB, as healthchecks.io shows it). Never throws: a monitoring service that is down must
 * not fail a backup; the returned string says why the ping failed, for the log.
 */
export async function sendPing(
  base: string,
  kind: PingKind,
  body: string,
  o: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<string | undefined> {
  const f = o.fetch ?? fetch;
  try {
    const res = await f(pingUrl(base, kind), {
      method: "POST",
      body: body.slice(-10_000),
      headers: { "content-type": "text/plain; charset=utf-8", "user-agent": "coffer-agent" },
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.ok ? undefined : `HTTP ${String(res.status)}`;
  } catch (err) {
    // fetch's own message is "fetch failed"; the reason is in its cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const msg = err instanceof Error ? err.message : String(err);
    const why =
      typeof cause?.code === "string"
        ? cause.code
        : typeof cause?.message === "string"
          ? cause.message
          : undefined;
    return why !== undefined ? `${msg}: ${why}` : msg;
  }
}
