import assert from "node:assert/strict";
import { mkdtemp, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listAttributes } from "fs-xattr";
import { hasXattrs, readXattrs, writeXattrs, type XattrWarning } from "./xattrs.ts";

test("writeXattrs()/readXattrs() round-trip binary values, also on non-UTF-8 paths and dirs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-xattr-"));
  try {
    const odd = Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0x66, 0xff, 0xfe])]);
    await writeFile(odd, "x");
    const xs = [
      { name: "user.a", value: Buffer.from([0, 255, 10]) },
      { name: "user.b", value: Buffer.alloc(0) },
    ];
    assert.equal(await writeXattrs(odd, "file", xs), 2);
    assert.deepEqual(await readXattrs(odd, "file"), xs);
    const sub = Buffer.concat([Buffer.from(dir + "/d"), Buffer.from([0xc3, 0x28])]);
    await mkdir(sub);
    await writeXattrs(sub, "dir", [{ name: "user.d", value: Buffer.from("1") }]);
    assert.deepEqual(await readXattrs(sub, "dir"), [{ name: "user.d", value: Buffer.from("1") }]);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("xattrs of symlinks are skipped (fs-xattr would follow the link)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-xattr-"));
  try {
    await writeFile(join(dir, "t"), "t");
    await symlink("t", join(dir, "l"));
    assert.equal(hasXattrs("symlink"), false);
    assert.equal(
      await writeXattrs(join(dir, "l"), "symlink", [{ name: "user.x", value: Buffer.from("1") }]),
      0,
    );
    assert.deepEqual(await listAttributes(join(dir, "t")), [], "target untouched");
    assert.deepEqual(await readXattrs(join(dir, "l"), "symlink"), []);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("xattr errors (unsupported namespace, missing file) are warnings, not failures", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-xattr-"));
  try {
    await writeFile(join(dir, "f"), "f");
    const warnings: XattrWarning[] = [];
    const n = await writeXattrs(
      join(dir, "f"),
      "file",
      [
        { name: "bogus.ns", value: Buffer.from("1") },
        { name: "user.ok", value: Buffer.from("2") },
      ],
      (w) => warnings.push(w),
    );
    assert.equal(n, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /^Cannot set xattr bogus\.ns on .*\/f: E\w+$/);
    assert.deepEqual(await readXattrs(join(dir, "missing"), "file", (w) => warnings.push(w)), []);
    assert.match(warnings[1]!.message, /^Cannot read xattrs of .*missing: ENOENT$/);
  } finally {
    await rm(dir, { recursive: true });
  }
});
