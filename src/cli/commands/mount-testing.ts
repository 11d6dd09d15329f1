import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Why real FUSE cannot be tested here, or undefined when it can. */
export function fuseUnusable(): string | undefined {
  if (process.getuid?.() !== 0) return "mounting needs root";
  try {
    closeSync(openSync("/dev/fuse", "r+"));
  } catch (err) {
    return `/dev/fuse is unusable: ${(err as Error).message}`;
  }
  return undefined;
}

/** True when something is mounted at `mnt` (per /proc/mounts). */
export function isMounted(mnt: string): boolean {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === mnt);
}

/** Waits (polling every 50 ms) until `cond` holds; fails after `tries` polls. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  tries = 1200,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await sleep(50);
  }
  assert.fail(`gave up waiting: ${what}`);
}
