/** The recovery job kinds: a restore drill and a standby mirror of a backup job's latest snapshot. */
import { CofferError } from "../core/errors.ts";
import { drill } from "../drill/drill.ts";
import { findSnapshot } from "../engine/browse/index.ts";
import { mirror } from "../mirror/mirror.ts";
import type { JobWhat } from "./config-types.ts";
import { runHook } from "./hooks.ts";
import { copyOut } from "./job-copy.ts";
import type { WorkContext, WorkResult } from "./work.ts";

/** Runs a `drill` or `mirror` job; a failed drill or post_mirror check fails the run. */
export async function doRecovery(
  w: Extract<JobWhat, { kind: "drill" | "mirror" | "copy" }>,
  c: WorkContext,
): Promise<WorkResult> {
  if (w.kind === "copy") return copyOut(w, c);
  const found = await findSnapshot(c.repo, "latest", { tags: [[`job:${w.job}`]] });
  if (w.kind === "drill") {
    const r = await drill(c.repo, found, {
      target: w.target,
      now: () => Date.now(),
      signal: c.signal,
      asRoot: process.getuid?.() === 0,
    });
    for (const ch of r.checks) c.log(`${ch.ok ? "ok" : "FAILED"} ${ch.name}: ${ch.detail}`);
    for (const f of r.failures.slice(0, 20)) c.log(`FAILED ${f.path}: ${f.problem}`);
    c.log(
      `drill of snapshot ${found.id.slice(0, 8)}: recovery time ${r.recoveryTimeSeconds.toFixed(2)} s, recovery point ${r.recoveryPointSeconds.toFixed(0)} s`,
      { recovery_time: r.recoveryTimeSeconds, recovery_point: r.recoveryPointSeconds },
    );
    if (!r.ok)
      throw new CofferError(
        "CORRUPT",
        `drill of snapshot ${found.id.slice(0, 8)} failed: ${r.failures
          .slice(0, 3)
          .map((f) => `${f.path}: ${f.problem}`)
          .join("; ")}`,
      );
    return { snapshots: [], bytesRead: r.bytesRestored, bytesAdded: 0 };
  }
  const r = await mirror(c.repo, found, w.to, c.signal);
  c.log(
    r.changed
      ? `mirrored snapshot ${found.id.slice(0, 8)}: ${String(r.filesWritten)} written, ${String(r.filesCopied)} copied, ${String(r.filesLinked)} unchanged, ${String(r.bytesWritten)} bytes written`
      : `mirror already shows snapshot ${found.id.slice(0, 8)}`,
  );
  if (w.postMirror !== undefined) {
    const h = await runHook(
      { run: w.postMirror, timeoutMs: 300_000 },
      {
        COFFER_MIRROR_DIR: w.to,
        COFFER_SNAPSHOT: found.id,
        COFFER_MIRROR_CHANGED: r.changed ? "1" : "0",
      },
      c.signal,
    );
    for (const l of h.output) c.log(`post_mirror | ${l}`);
    if (!h.ok) throw new CofferError("COMMAND_FAILED", `post_mirror "${w.postMirror}" ${h.detail}`);
  }
  return { snapshots: [], bytesRead: r.bytesWritten, bytesAdded: 0 };
}
