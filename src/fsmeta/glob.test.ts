import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { Glob, compileGlobs, matchesAny, parsePatternFile } from "./glob.ts";

const m = (pattern: string | Uint8Array, path: string | Uint8Array): boolean =>
  new Glob(pattern).matches(path);

test("Glob.matches() with a slash-less pattern matches any component", () => {
  assert.equal(m("*.log", "/var/log/syslog.log"), true);
  assert.equal(m("*.log", "/var/log/syslog.log/inner"), true, "descendants of a match are matched");
  assert.equal(m("*.log", "/var/log/syslog.txt"), false);
  assert.equal(m("cache", "/home/u/cache/x"), true);
  assert.equal(m("cache", "/home/u/cached/x"), false);
  assert.equal(m("cache", "/home/u/mycache"), false);
});

test("Glob.matches() anchors patterns starting with / at the root", () => {
  assert.equal(m("/abs/path", "/abs/path"), true);
  assert.equal(m("/abs/path", "/abs/path/deeper/file"), true);
  assert.equal(m("/abs/path", "/other/abs/path"), false);
  assert.equal(m("/abs/pat", "/abs/path"), false);
  assert.equal(m("/", "/anything"), true);
});

test("Glob.matches() relative multi-component patterns match anywhere", () => {
  assert.equal(m("home/*/tmp", "/srv/home/bob/tmp/f"), true);
  assert.equal(m("home/*/tmp", "/srv/home/bob/x/tmp"), false);
});

test("Glob ** matches zero or more components", () => {
  assert.equal(m("**/cache/**", "/a/b/cache/c"), true);
  assert.equal(m("**/cache/**", "/cache"), true);
  assert.equal(m("/a/**/z", "/a/z"), true);
  assert.equal(m("/a/**/z", "/a/b/c/z"), true);
  assert.equal(m("/a/**/z", "/a/b/c/y"), false);
  assert.equal(new Glob("/a/**/z").matchesExactly("/a/b/z/q"), false);
  assert.equal(new Glob("/a/**/z").matchesExactly("/a/b/z"), true);
});

test("Glob component wildcards: ?, classes, ranges, negation, escapes", () => {
  assert.equal(m("fil?", "/x/file"), true);
  assert.equal(m("fil?", "/x/fil"), false);
  assert.equal(m("[abc].txt", "/b.txt"), true);
  assert.equal(m("[a-c].txt", "/d.txt"), false);
  assert.equal(m("[!a-c].txt", "/d.txt"), true);
  assert.equal(m("[^a-c].txt", "/a.txt"), false);
  assert.equal(m("[]x].txt", "/].txt"), true);
  assert.equal(m("\\*.txt", "/*.txt"), true);
  assert.equal(m("\\*.txt", "/a.txt"), false);
  assert.equal(m("a*b*c", "/aXXbYYc"), true);
  assert.equal(m("a*b*c", "/aXXbYY"), false);
  assert.equal(m("*", "/a/b"), true);
});

test("Glob matches non-UTF-8 byte paths byte by byte", () => {
  const name = Buffer.from([0x2f, 0x64, 0x2f, 0x66, 0xff, 0xfe]); // "/d/f\xff\xfe"
  assert.equal(m("f*", name), true);
  assert.equal(m(Buffer.from([0x66, 0x3f, 0xfe]), name), true); // "f?\xfe"
  assert.equal(
    m(Buffer.from([0x5b, 0xf0, 0x2d, 0xff, 0x5d, 0x2a]), Buffer.from("/d/\xf5x", "latin1")),
    true,
  );
  assert.equal(m("f??", name), true);
  assert.equal(m("f?", name), false);
});

test("Glob.mayMatchDescendant() says whether to descend for includes", () => {
  const g = new Glob("/home/*/docs/*.pdf");
  assert.equal(g.mayMatchDescendant("/home"), true);
  assert.equal(g.mayMatchDescendant("/home/bob"), true);
  assert.equal(g.mayMatchDescendant("/home/bob/docs"), true);
  assert.equal(g.mayMatchDescendant("/etc"), false);
  assert.equal(g.mayMatchDescendant("/home/bob/music"), false);
  assert.equal(new Glob("*.pdf").mayMatchDescendant("/anything"), true);
});

test("Glob rejects malformed patterns with BAD_INPUT", () => {
  for (const bad of ["", "[abc", "abc\\"]) {
    assert.throws(
      () => new Glob(bad),
      (e: unknown) => isCofferError(e, "BAD_INPUT"),
      bad,
    );
  }
});

test("matchesAny() and parsePatternFile() read restic exclude files", () => {
  const lines = parsePatternFile(Buffer.from("# comment\n\n  *.log  \r\n/abs/x\n**/cache/**\n"));
  assert.deepEqual(
    lines.map((l) => Buffer.from(l).toString()),
    ["*.log", "/abs/x", "**/cache/**"],
  );
  const globs = compileGlobs(lines);
  assert.equal(matchesAny(globs, "/a/b.log"), true);
  assert.equal(matchesAny(globs, "/abs/x/y"), true);
  assert.equal(matchesAny(globs, "/a/cache/b"), true);
  assert.equal(matchesAny(globs, "/a/b.txt"), false);
});
