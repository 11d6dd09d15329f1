/** Reads the recovery job kinds of an agent configuration: `drill` and `mirror`. */
import type { ConfigReader } from "./config-reader.ts";
import type { JobWhat } from "./config-types.ts";

/**
 * `drill: { job: www, target: /var/tmp }` or `mirror: { job: www, to: /srv/standby,
 * post_mirror: "curl -fs http://127.0.0.1/health" }`; `job` names the backup job whose
 * latest snapshot (tag `job:NAME`) is drilled or mirrored; `copy: { to: REPO, password_file: F,
 * job: www }` copies this repository's snapshots (of that job, else all) to another one.
 */
export function parseRecovery(
  r: ConfigReader,
  at: string[],
  kind: "drill" | "mirror" | "copy",
): JobWhat | undefined {
  const p = [...at, kind];
  if (kind === "copy") {
    r.keys(p, ["to", "password_file", "job"]);
    const to = r.str([...p, "to"], true);
    const passwordFile = r.str([...p, "password_file"], true);
    const job = r.str([...p, "job"]);
    if (to === undefined || passwordFile === undefined) return undefined;
    return { kind, to, passwordFile, ...(job !== undefined ? { job } : {}) };
  }
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
