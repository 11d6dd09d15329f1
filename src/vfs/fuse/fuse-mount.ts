import { spawn } from "node:child_process";
import { closeSync, openSync, read, statSync, writeSync } from "node:fs";
import { CofferError } from "../../core/errors.ts";
import type { BrowseTree } from "../browse-tree.ts";
import { FuseOps } from "./fuse-ops.ts";

/** Options for {@link FuseMount.mount}. */
export interface FuseMountOptions {
  mountpoint: string;
  /** Reports damaged files and protocol trouble (the CLI writes it to stderr). */
  log: (message: string) => void;
  /** Names the mount in /proc/mounts (default "coffer"). */
  source?: string;
}

/**
 * Reads outstanding on the device at once. Each blocks a libuv pool thread (4 by default)
 * while idle; two let the next request be taken while the last one's reply is on its way.
 */
const READERS = 2;

/** Request buffer: larger than the kernel's minimum (max_write + headers, 8 KiB). */
const BUFFER = 256 * 1024 + 4096;

interface Ran {
  code: number | null;
  stderr: string;
}

function run(cmd: string, args: string[], fd?: number): Promise<Ran> {
  return new Promise((resolve) => {
    const stdio: ("ignore" | "pipe" | number)[] = ["ignore", "ignore", "pipe"];
    if (fd !== undefined) stdio.push(fd);
    const child = spawn(cmd, args, { stdio });
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    child.on("error", (err) => {
      resolve({ code: -1, stderr: err.message });
    });
    child.on("close", (code) => {
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

/**
 * Refuses a mount point that is not an existing directory.
 * @throws CofferError BAD_INPUT `Cannot mount at /x: not a directory`
 */
export function checkMountpoint(mountpoint: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(mountpoint).isDirectory();
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === "ENOENT"
        ? "no such directory (create it first)"
        : (err as Error).message;
    throw new CofferError("BAD_INPUT", `Cannot mount at ${mountpoint}: ${why}`, { cause: err });
  }
  if (!isDir) throw new CofferError("BAD_INPUT", `Cannot mount at ${mountpoint}: not a directory`);
}

/**
 * A FUSE mount of a {@link BrowseTree}, speaking the kernel protocol on /dev/fuse directly
 * (no libfuse; see ADR 0015). The device is opened here and handed to `mount -t fuse.coffer`
 * as its fd 3; two reads are outstanding at a time and every request is answered
 * asynchronously, so a slow blob fetch does not hold up other requests.
 */
export class FuseMount {
  readonly ops: FuseOps;
  /** Settles when the kernel ends the session (unmounted by us or by anyone). */
  readonly done: Promise<void>;
  #end!: () => void;
  #closed = false;

  private constructor(
    private readonly fd: number,
    readonly mountpoint: string,
    tree: BrowseTree,
    private readonly log: (message: string) => void,
  ) {
    this.ops = new FuseOps(
      tree,
      (b) => {
        this.#send(b);
      },
      log,
    );
    this.done = new Promise((resolve) => (this.#end = resolve));
  }

  /**
   * Mounts `tree` read-only at `o.mountpoint`.
   * @throws CofferError BAD_INPUT (mount point not a directory), IO (no /dev/fuse, mount failed).
   */
  static async mount(tree: BrowseTree, o: FuseMountOptions): Promise<FuseMount> {
    checkMountpoint(o.mountpoint);
    let fd: number;
    try {
      fd = openSync("/dev/fuse", "r+");
    } catch (err) {
      throw new CofferError(
        "IO",
        `Cannot mount: cannot open /dev/fuse: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const m = new FuseMount(fd, o.mountpoint, tree, o.log);
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const opts = `fd=3,rootmode=40000,user_id=${String(uid)},group_id=${String(gid)},ro,allow_other,default_permissions`;
    // -i: no /sbin/mount.fuse helper (it would take the source for a program to run).
    const mounting = run(
      "mount",
      ["-i", "-t", "fuse.coffer", "-o", opts, o.source ?? "coffer", o.mountpoint],
      fd,
    );
    let mounted = false;
    void mounting.then((r) => (mounted = r.code === 0));
    for (let i = 0; i < READERS; i++) m.#loop(() => mounted);
    const r = await mounting;
    if (r.code !== 0) {
      m.#close();
      throw new CofferError(
        "IO",
        `Cannot mount at ${o.mountpoint}: ${r.stderr || `mount exited with ${String(r.code)}`}`,
      );
    }
    return m;
  }

  #send(reply: Buffer): void {
    if (this.#closed) return;
    try {
      writeSync(this.fd, reply);
    } catch (err) {
      // ENOENT: the request was interrupted and is gone; nothing to do.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENODEV")
        this.log(`FUSE reply failed: ${(err as Error).message}`);
    }
  }

  #loop(mounted: () => boolean): void {
    const buf = Buffer.allocUnsafe(BUFFER);
    const next = (): void => {
      read(this.fd, buf, 0, BUFFER, null, (err, n) => {
        if (err !== null) {
          const code = err.code;
          if (code === "ENOENT" || code === "EINTR" || code === "EAGAIN") {
            next();
            return;
          }
          // EPERM: not mounted yet (mount(8) is still starting)
          if (code === "EPERM" && !mounted() && !this.#closed) return void setTimeout(next, 5);
          if (code !== "ENODEV" && !this.#closed) this.log(`FUSE session ended: ${err.message}`);
          this.#close();
          return;
        }
        const req = Buffer.from(buf.subarray(0, n));
        void this.ops.handle(req);
        if (this.ops.destroyed) {
          this.#close();
          return;
        }
        next();
      });
    };
    next();
  }

  /** Read through a method: the session may end while `unmount` awaits. */
  #isClosed(): boolean {
    return this.#closed;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.#end();
  }

  /**
   * Unmounts (`umount`; when the mount is busy, a lazy `umount -l` so that the process can
   * end) and waits for the session to end.
   */
  async unmount(): Promise<void> {
    if (!this.#closed) {
      let r = await run("umount", [this.mountpoint]);
      if (r.code !== 0 && !this.#isClosed()) {
        this.log(`${r.stderr}; unmounting lazily`);
        r = await run("umount", ["-l", this.mountpoint]);
        if (r.code !== 0 && !this.#isClosed())
          this.log(`Cannot unmount ${this.mountpoint}: ${r.stderr}`);
        this.#close();
      }
    }
    await this.done;
  }
}
