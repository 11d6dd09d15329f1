import { createHash } from "node:crypto";
import { verifyUser, type WebdavUser } from "./users-file.ts";

/**
 * HTTP basic auth against a users file. A verified `Authorization` header is remembered (as
 * its SHA-256) for `ttlMs`, so that a client sending the same credentials with every request
 * pays the scrypt cost once, not per file; wrong credentials are never remembered.
 */
export class BasicAuth {
  readonly #verified = new Map<string, number>();

  constructor(
    private readonly users: ReadonlyMap<string, WebdavUser>,
    private readonly now: () => number,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxRemembered = 1000,
  ) {}

  /** True when `header` (`Basic base64(name:password)`) names a user with that password. */
  async check(header: string | undefined): Promise<boolean> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
    if (m === null) return false;
    const key = createHash("sha256").update(m[1]!).digest("hex");
    const until = this.#verified.get(key);
    if (until !== undefined && until > this.now()) return true;
    this.#verified.delete(key);
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    if (!(await verifyUser(this.users, decoded.slice(0, colon), decoded.slice(colon + 1))))
      return false;
    if (this.#verified.size >= this.maxRemembered) this.#verified.clear();
    this.#verified.set(key, this.now() + this.ttlMs);
    return true;
  }
}
