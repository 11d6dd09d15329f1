import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { cliFixture, type CliFixture } from "../testing/cli-fixture.ts";
import { spawnCoffer, type CofferChild } from "../testing/run-coffer.ts";

interface Served {
  child: CofferChild;
  url: string;
  stderr: () => string;
}

async function serve(f: CliFixture, args: string[]): Promise<Served> {
  const child = spawnCoffer(["serve", "webdav", "--listen", "127.0.0.1:0", ...args], f.env());
  let err = "";
  child.child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
  for (let i = 0; i < 1200 && !/at https?:\/\//.test(err) && child.child.exitCode === null; i++)
    await sleep(50);
  const m = /at (https?:\/\/127\.0\.0\.1:\d+)\//.exec(err);
  assert.ok(m, `coffer serve webdav did not start: ${err}`);
  return { child, url: m[1]!, stderr: () => err };
}

async function stop(s: Served): Promise<void> {
  s.child.child.kill("SIGTERM");
  const r = await s.child.done;
  assert.equal(r.code, 0, r.stderr);
}

interface Curl {
  status: number;
  headers: string;
  body: Buffer;
}

let curls = 0;

function curl(args: string[]): Curl {
  const dump = join(tmpdir(), `coffer-webdav-headers-${String(process.pid)}-${String(curls++)}`);
  const r = spawnSync("curl", ["-s", "-k", "-D", dump, ...args], { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `curl ${args.join(" ")}: exit ${String(r.status)} ${String(r.signal)}`);
  const headers = readFileSync(dump, "latin1");
  rmSync(dump);
  const statuses = [...headers.matchAll(/^HTTP\/[\d.]+ (\d+)/gm)];
  return { status: Number(statuses.at(-1)?.[1]), headers, body: r.stdout };
}

function header(c: Curl, name: string): string | undefined {
  return new RegExp(`^${name}: (.*?)\\r?$`, "im").exec(c.headers)?.[1];
}

test(
  "coffer serve webdav: PROPFIND, GET with ranges and ETags, rclone copy equals the snapshot, writes and bad credentials are refused",
  { timeout: 600_000 },
  async () => {
    const f = await cliFixture("coffer-webdav-");
    const src = join(f.dir, "src");
    await mkdir(join(src, "docs", "deep"), { recursive: true });
    const big = pseudoRandomBytes(5 * 1024 * 1024, 7);
    await writeFile(join(src, "big.bin"), big);
    await writeFile(join(src, "docs", "naïve café #1 100%.txt"), "unicode, spaces, # and %\n");
    await writeFile(join(src, "docs", "deep", "leaf.txt"), "deep\n");
    await writeFile(join(src, "empty"), "");
    await symlink("docs/deep/leaf.txt", join(src, "link"));
    await writeFile(Buffer.from(`${src}/bad-\xff-name`, "latin1"), "not utf-8\n");
    assert.equal((await f.run(["backup", "-q", src])).code, 0);
    const hashed = await f.run(
      ["serve", "webdav", "--hash-password", "alice"],
      {},
      "s3cret-pass\n",
    );
    assert.equal(hashed.code, 0, hashed.stderr);
    const users = join(f.dir, "users");
    await writeFile(users, `# WebDAV users\n${hashed.stdout.toString("utf8")}`);
    const s = await serve(f, ["--users", users]);
    try {
      const auth = ["-u", "alice:s3cret-pass"];
      const at = `${s.url}/latest${src}`;
      // authentication
      assert.equal(curl([`${s.url}/`]).status, 401);
      assert.equal(curl(["-u", "alice:wrong-pass", `${s.url}/`]).status, 401);
      assert.equal(curl(["-u", "mallory:s3cret-pass", `${s.url}/`]).status, 401);
      const opts = curl([...auth, "-X", "OPTIONS", `${s.url}/`]);
      assert.equal(opts.status, 200);
      assert.equal(header(opts, "DAV"), "1");
      // PROPFIND
      const top = curl([...auth, "-X", "PROPFIND", "-H", "Depth: 1", `${s.url}/`]);
      assert.equal(top.status, 207);
      for (const name of ["hosts", "ids", "latest", "snapshots", "tags"])
        assert.ok(top.body.toString().includes(`<D:href>/${name}/</D:href>`), name);
      const list = curl([...auth, "-X", "PROPFIND", "-H", "Depth: 1", `${at}/`]).body.toString();
      assert.ok(list.includes(`<D:href>/latest${src}/big.bin</D:href>`));
      assert.ok(list.includes("<D:getcontentlength>5242880</D:getcontentlength>"));
      assert.ok(
        list.includes(`/link.rclonelink</D:href>`),
        "a symlink shows as an rclone link file",
      );
      assert.ok(
        list.includes("/bad-%FF-name</D:href>"),
        "a non-UTF-8 name keeps its bytes in the href",
      );
      assert.equal(
        curl([...auth, "-X", "PROPFIND", "-H", "Depth: 0", `${at}/big.bin`]).status,
        207,
      );
      assert.equal(
        curl([...auth, "-X", "PROPFIND", "-H", "Depth: infinity", `${at}/`]).status,
        403,
      );
      assert.equal(curl([...auth, "-X", "PROPFIND", "-H", "Depth: 0", `${at}/nope`]).status, 404);
      // GET, ranges, ETags
      const whole = curl([...auth, `${at}/big.bin`]);
      assert.equal(whole.status, 200);
      assert.ok(whole.body.equals(big));
      const etag = header(whole, "ETag")!;
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      const part = curl([...auth, "-H", "Range: bytes=1048570-2097160", `${at}/big.bin`]);
      assert.equal(part.status, 206);
      assert.equal(header(part, "Content-Range"), `bytes 1048570-2097160/${String(big.length)}`);
      assert.ok(part.body.equals(big.subarray(1048570, 2097161)));
      const tail = curl([...auth, "-H", "Range: bytes=-10", `${at}/big.bin`]);
      assert.ok(tail.body.equals(big.subarray(big.length - 10)));
      assert.equal(curl([...auth, "-H", `If-None-Match: ${etag}`, `${at}/big.bin`]).status, 304);
      assert.equal(
        curl([...auth, "-H", "Range: bytes=0-9", "-H", `If-Range: ${etag}`, `${at}/big.bin`])
          .status,
        206,
      );
      assert.equal(
        curl([...auth, "-H", "Range: bytes=0-9", "-H", 'If-Range: "stale"', `${at}/big.bin`])
          .status,
        200,
      );
      assert.equal(curl([...auth, "-H", "Range: bytes=9999999-", `${at}/big.bin`]).status, 416);
      const head = curl([...auth, "-I", `${at}/big.bin`]);
      assert.equal(header(head, "Content-Length"), String(big.length));
      assert.equal(curl([...auth, `${at}/bad-%FF-name`]).body.toString(), "not utf-8\n");
      assert.equal(
        curl([...auth, `${at}/docs/na%C3%AFve%20caf%C3%A9%20%231%20100%25.txt`]).body.toString(),
        "unicode, spaces, # and %\n",
      );
      // a resumed download (curl -C -) finishes the file
      const partial = join(f.dir, "resumed.bin");
      await writeFile(partial, big.subarray(0, 3_000_000));
      assert.equal(
        spawnSync("curl", ["-s", ...auth, "-C", "-", "-o", partial, `${at}/big.bin`]).status,
        0,
      );
      assert.ok((await readFile(partial)).equals(big));
      // writes
      const writes: [string, string][] = [
        ["PUT", "/latest/x"],
        ["DELETE", `/latest${src}/big.bin`],
        ["MKCOL", "/new/"],
        ["PROPPATCH", "/latest/"],
        ["MOVE", `/latest${src}/empty`],
      ];
      for (const [method, path] of writes)
        assert.equal(
          curl([...auth, "-X", method, "--data", "x", `${s.url}${path}`]).status,
          405,
          method,
        );
      // rclone's webdav backend copies the snapshot exactly (symlinks through -l)
      const out = join(f.dir, "rclone-out");
      const pass = spawnSync("rclone", ["obscure", "s3cret-pass"], {
        encoding: "utf8",
      }).stdout.trim();
      const remote = `:webdav,url='${s.url}',user=alice,pass='${pass}':latest${src}`;
      const rc = spawnSync("rclone", ["copy", "-l", "--exclude", "bad-*", remote, out], {
        encoding: "utf8",
      });
      assert.equal(rc.status, 0, rc.stderr);
      const diff = spawnSync("diff", ["-r", "--no-dereference", "--exclude", "bad-*", src, out], {
        encoding: "utf8",
      });
      assert.equal(diff.status, 0, diff.stdout + diff.stderr);
      const bad = spawnSync(
        "rclone",
        [
          "lsf",
          remote.replace(
            pass,
            spawnSync("rclone", ["obscure", "wrong-pass"], { encoding: "utf8" }).stdout.trim(),
          ),
        ],
        { encoding: "utf8" },
      );
      assert.notEqual(bad.status, 0, "rclone with a wrong password is refused");
    } finally {
      await stop(s);
      await f.remove();
    }
  },
);

test(
  "coffer serve webdav refuses a non-loopback address without both users and TLS, and serves HTTPS",
  { timeout: 300_000 },
  async () => {
    const f = await cliFixture("coffer-webdav-");
    try {
      const hashed = await f.run(
        ["serve", "webdav", "--hash-password", "bob"],
        {},
        "another-pass\n",
      );
      const users = join(f.dir, "users");
      await writeFile(users, hashed.stdout);
      const open = await f.run(["serve", "webdav", "--listen", "0.0.0.0:0"]);
      assert.equal(open.code, 2, open.stderr);
      assert.match(
        open.stderr,
        /Refusing to serve on 0\.0\.0\.0, which is not a loopback address, without both --users and --tls-cert/,
      );
      const noTls = await f.run(["serve", "webdav", "--listen", "0.0.0.0:0", "--users", users]);
      assert.match(noTls.stderr, /Refusing to serve/);
      await writeFile(join(f.dir, "bad-users"), "bob:plaintext\n");
      const bad = await f.run(["serve", "webdav", "--users", join(f.dir, "bad-users")]);
      assert.match(
        bad.stderr,
        /Cannot read users file .*bad-users line 1: expected name:\$scrypt\$/,
      );
      const cert = join(f.dir, "cert.pem");
      const key = join(f.dir, "key.pem");
      const ssl = spawnSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
      ]);
      assert.equal(ssl.status, 0, ssl.stderr.toString());
      await writeFile(join(f.dir, "hello.txt"), "hello over TLS\n");
      assert.equal((await f.run(["backup", "-q", join(f.dir, "hello.txt")])).code, 0);
      const s = await serve(f, ["--users", users, "--tls-cert", cert, "--tls-key", key]);
      try {
        assert.match(s.url, /^https:/);
        const got = curl(["-u", "bob:another-pass", `${s.url}/latest${f.dir}/hello.txt`]);
        assert.equal(got.status, 200);
        assert.equal(got.body.toString(), "hello over TLS\n");
      } finally {
        await stop(s);
      }
    } finally {
      await f.remove();
    }
  },
);

test(
  "coffer serve webdav: a damaged file is a 500 naming it, on stderr too; other files are served",
  { timeout: 300_000 },
  async () => {
    const f = await cliFixture("coffer-webdav-");
    try {
      const src = join(f.dir, "src");
      await mkdir(src);
      await writeFile(join(src, "ok.txt"), "intact\n");
      assert.equal((await f.run(["backup", "-q", src])).code, 0);
      const packs = async (): Promise<string[]> =>
        (await readdir(join(f.repo, "data"), { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name));
      const before = new Set(await packs());
      await writeFile(join(src, "victim.bin"), pseudoRandomBytes(200_000, 5));
      assert.equal((await f.run(["backup", "-q", src])).code, 0);
      const fresh = (await packs()).filter((p) => !before.has(p));
      const sizes = await Promise.all(fresh.map(async (p) => (await stat(p)).size));
      const victimPack = fresh[sizes.findIndex((n) => n >= 200_000)]!;
      const bytes = Buffer.from(await readFile(victimPack));
      bytes[1000] = bytes[1000]! ^ 0x01;
      await chmod(victimPack, 0o644);
      await writeFile(victimPack, bytes);
      const s = await serve(f, []);
      try {
        const bad = curl([`${s.url}/latest${src}/victim.bin`]);
        assert.equal(bad.status, 500);
        assert.match(
          bad.body.toString(),
          /^Cannot read snapshots\/[^ ]+\/victim\.bin: Cannot read blob [0-9a-f]+: authentication failed/,
        );
        for (let i = 0; i < 600 && !s.stderr().includes("victim.bin"); i++) await sleep(50);
        assert.match(s.stderr(), /coffer: Cannot read snapshots\/[^ ]+\/victim\.bin/);
        assert.equal(curl([`${s.url}/latest${src}/ok.txt`]).body.toString(), "intact\n");
        assert.equal(
          curl(["-X", "PROPFIND", "-H", "Depth: 1", `${s.url}/latest${src}/`]).status,
          207,
        );
      } finally {
        await stop(s);
      }
    } finally {
      await f.remove();
    }
  },
);
