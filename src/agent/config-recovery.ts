/** Reads the recovery job kinds of an agent configuration: `drill` and `mirror`. */
import type { ConfigReader } from "./config-reader.ts";
import type { JobWhat } from "./config-types.ts";

/**
 * `drill: { job: www, target: /var/tmp }` or `mirror: { job: www, to: /srv/standby,
 * post_mirror: "curl -fs http://127.0.0.1/health" }`; `job` names the backup job whose
 * latest snapshot (tag `job:NAME`) is drilled or mirrored.
 */
export function parseRecovery(
  r: ConfigReader,
  at: string[],
  kind: "drill" | "mirror",
): JobWhat | undefined {
  const p = [...at, kind];
  const dirKey = kind === "drill" ? "target" : "to";
  r.keys(p, kind === "drill" ? ["job", "target"] : ["job", "to", "post_mirror"]);
  const job = r.str([...p, "job"], true);
  const dir = r.str([...p, dirKey], true);
  if (dir !== undefined && !dir.startsWith("/"))
    r.issue([...p, dirKey], `${dir}: expected an absolute path`);
  if (job === undefined || dir === undefined || !dir.startsWith("/")) return undefined;
  if (kind === "drill") return { kind, job, target: dir };
  const post = r.str([...p, "post_mirror"]);
  return { kind, job, to: dir, ...(post !== undefined ? { postMirror: post } : {}) };
}
