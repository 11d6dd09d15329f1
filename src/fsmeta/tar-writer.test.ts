import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { PassThrough } from "node:stream";
import { after, before, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { HardlinkTracker } from "./hardlinks.ts";
import { Owners } from "./owners.ts";
import { TarWriter } from "./tar-writer.ts";
import {
  compareTrees,
  formatDifferences,
  makeTree,
  removeTree,
  type MadeTree,
} from "./testing/make-tree.ts";
import { walk } from "./walker.ts";
import { readXattrs } from "./xattrs.ts";

let dir: string;
let tree: MadeTree;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "coffer-tar-"));
  tree = await makeTree(join(dir, "src"), { largeSize: 200_000, sparseSize: 1 << 20 });
});
after(async () => {
  await removeTree(dir);
});

test("TarWriter output lists and extracts with GNU tar to an identical tree", async () => {
  const tarPath = join(dir, "out.tar");
  const out = createWriteStream(tarPath);
  const tw = new TarWriter(out);
  const owners = await Owners.system();
  const links = new HardlinkTracker();
  for await (const e of walk([tree.root])) {
    if (e.depth === 0 || e.kind === "socket") continue;
    if (tree.unreadableEffective && tree.paths.unreadable?.equals(e.relPath) === true) continue;
    const first = e.kind === "file" ? links.firstPath(e.stat, e.relPath) : undefined;
    const common = {
      path: e.relPath,
      mode: e.stat.mode,
      uid: e.stat.uid,
      gid: e.stat.gid,
      user: owners.userName(e.stat.uid),
      group: owners.groupName(e.stat.gid),
      mtimeNs: e.stat.mtimeNs,
      atimeNs: e.stat.atimeNs,
      xattrs: await readXattrs(e.path, e.kind),
    };
    if (first !== undefined) await tw.add({ ...common, kind: "hardlink", linkTarget: first });
    else if (e.kind === "file")
      await tw.add({ ...common, kind: "file", size: e.stat.size }, createReadStream(e.path));
    else if (e.kind === "symlink")
      await tw.add({ ...common, kind: "symlink", linkTarget: e.linkTarget });
    else if (e.kind === "dir" || e.kind === "fifo") await tw.add({ ...common, kind: e.kind });
  }
  await tw.finish();
  out.end();
  await finished(out);

  const listing = execFileSync("tar", ["-tvf", tarPath], { encoding: "latin1" });
  assert.match(listing, /-rwsr-xr-x .* modes\/setuid\n/);
  assert.match(listing, /hard\/b link to hard\/a/);
  assert.match(listing, /links\/to-regular -> \.\.\/regular\.txt/);
  assert.ok(listing.includes("names/f\\377\\376\n"), "non-UTF-8 names survive byte for byte");
  assert.match(listing, new RegExp(`${"d\\d+/".repeat(20)}leaf`), "long paths via pax");

  const ex = join(dir, "extract");
  await mkdir(ex);
  execFileSync("tar", [
    "--xattrs",
    "--xattrs-include=*",
    "--numeric-owner",
    "-xpf",
    tarPath,
    "-C",
    ex,
  ]);
  const diffs = await compareTrees(tree.root, ex, {
    timePrecisionNs: 1n, // pax keeps nanoseconds and GNU tar restores them
    sparseSlackBytes: false, // tar members are dense
    ignore: (p) =>
      p.toString() === "special/socket" ||
      (tree.unreadableEffective && p.toString() === "special/unreadable"),
  });
  assert.deepEqual(diffs, [], formatDifferences(diffs));
});

test("TarWriter refuses content of the wrong size with CORRUPT and applies backpressure", async () => {
  const pt = new PassThrough({ highWaterMark: 1024 });
  const chunks: Buffer[] = [];
  const tw = new TarWriter(pt);
  const base = { kind: "file" as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n };
  async function* gen(n: number): AsyncGenerator<Uint8Array> {
    await Promise.resolve();
    yield Buffer.alloc(n, 1);
  }
  const adding = tw.add({ ...base, path: Buffer.from("big"), size: 100_000 }, gen(100_000));
  let settled = false;
  void adding.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false, "waits for the reader to drain");
  pt.on("data", (c: Buffer) => chunks.push(c));
  await adding;
  await assert.rejects(
    tw.add({ ...base, path: Buffer.from("short"), size: 10 }, gen(5)),
    (e: unknown) => isCofferError(e, "CORRUPT") && /expected 10 bytes, got 5/.test(e.message),
  );
  assert.equal(Buffer.concat(chunks).length, 512 + 100_000 + pad(100_000) + 512 + 5);
});

function pad(n: number): number {
  return (512 - (n % 512)) % 512;
}
