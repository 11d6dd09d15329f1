import { createHash } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { toHex } from "../core/hex.ts";

/**
 * Who wrote a temp file under a local repository's `tmp/`: a tag for the process namespace
 * (host name, kernel boot and PID namespace) and the process ID. Temp files are named
 * `<tag>-<pid>-<random>`, so a later run in the same namespace can tell a dead writer's
 * leftovers (remove at once) from a live writer's file (keep).
 */
export interface TempOwner {
  /** 12 hex characters naming the host, boot and PID namespace. */
  tag: string;
  pid: number;
}

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return "";
  }
}

let current: TempOwner | undefined;

/**
 * This process's {@link TempOwner}. The tag hashes the host name, `/proc/sys/kernel/random/boot_id`
 * and the PID namespace (`/proc/self/ns/pid`), so the same PID on another machine, after a reboot
 * or in another container never counts as "this process's namespace".
 */
export function currentTempOwner(): TempOwner {
  current ??= {
    tag: createHash("sha256")
      .update(
        [
          hostname(),
          readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
          readOr(() => readlinkSync("/proc/self/ns/pid")),
        ].join("\0"),
      )
      .digest("hex")
      .slice(0, 12),
    pid: process.pid,
  };
  return current;
}

/** A temp file name for `owner`: `<tag>-<pid>-<32 random hex>`. */
export function tempFileName(owner: TempOwner, random: Uint8Array): string {
  return `${owner.tag}-${String(owner.pid)}-${toHex(random)}`;
}

/** The owner encoded in a temp file name, or `undefined` for another (older) naming. */
export function parseTempFileName(name: string): TempOwner | undefined {
  const m = /^([0-9a-f]{12})-([1-9][0-9]{0,9})-[0-9a-f]+$/.exec(name);
  if (m === null) return undefined;
  return { tag: m[1] ?? "", pid: Number(m[2]) };
}

/**
 * True while a process with this PID exists in this PID namespace (any owner) and is not a
 * zombie (a killed process its parent has not reaped yet writes nothing any more).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: unknown }).code !== "ESRCH";
  }
  // /proc/<pid>/stat: "pid (comm) S ...": the state follows the last ")".
  const stat = readOr(() => readFileSync(`/proc/${String(pid)}/stat`, "utf8"));
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}
