import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { commands } from "./commands/index.ts";
import { cliFixture, lastJson, type CliFixture } from "./testing/cli-fixture.ts";
import { jsonLines, runCoffer, type CofferRun } from "./testing/run-coffer.ts";

/** Asserts that all of stdout is JSON (one document or JSON lines) and so is every stderr line. */
function assertAllJson(what: string, r: CofferRun): unknown[] {
  let out: unknown[];
  try {
    out = jsonLines(r.stdout.toString("utf8"));
    jsonLines(r.stderr);
  } catch (err) {
    assert.fail(
      `${what}: ${(err as Error).message}\nstdout: ${r.stdout.toString()}\nstderr: ${r.stderr}`,
    );
  }
  return out;
}

describe("--json on every command (slow: real processes)", () => {
  let f: CliFixture;
  let src: string;
  const covered = new Set<string>();

  before(async () => {
    f = await cliFixture("coffer-cli-json-");
    src = join(f.dir, "src");
    await mkdir(join(src, "d"), { recursive: true });
    await writeFile(join(src, "d/file.txt"), "json everywhere\n");
    await writeFile(join(f.dir, "pw2"), "second password\n");
    await writeFile(join(f.dir, "pw3"), "third password\n");
  });
  after(async () => {
    await f.remove();
  });

  test("every command's output is valid JSON on stdout (and JSON lines on stderr)", async () => {
    let password = f.password;
    const ok = async (args: string[], stdin?: string): Promise<unknown[]> => {
      const name = args[0] ?? "";
      covered.add(name === "key" ? `key ${args[1] ?? ""}` : name);
      const dash = args.indexOf("--");
      const argv =
        dash >= 0 ? [...args.slice(0, dash), "--json", ...args.slice(dash)] : [...args, "--json"];
      const r = await runCoffer(argv, f.env({ COFFER_PASSWORD: password }), stdin);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      const out = assertAllJson(args.join(" "), r);
      assert.ok(out.length > 0, `${args.join(" ")} printed no JSON`);
      return out;
    };
    const init = lastJson(await ok(["init", "-r", join(f.dir, "other-repo")]));
    assert.match(String(init.id), /^[0-9a-f]{64}$/);
    const a = String(lastJson(await ok(["backup", src])).snapshot_id);
    await writeFile(join(src, "d/new.txt"), "new\n");
    const b = String(lastJson(await ok(["backup", src])).snapshot_id);
    assert.match(
      String(
        lastJson(await ok(["backup", "--stdin", "--stdin-filename", "in.txt"], "stdin data"))
          .snapshot_id,
      ),
      /^[0-9a-f]{64}$/,
    );
    await ok([
      "backup",
      "--stdin-from-command",
      "--stdin-filename",
      "cmd.txt",
      "--",
      "echo",
      "from a command",
    ]);
    const list = (await ok(["snapshots"]))[0] as { id: string }[];
    assert.equal(list.length, 4);
    const ls = await ok(["ls", a, src]);
    assert.ok(ls.some((e) => (e as { path?: string }).path === join(src, "d/file.txt")));
    const diff = await ok(["diff", a, b]);
    assert.ok(diff.some((e) => (e as { path?: string }).path === join(src, "d/new.txt")));
    assert.equal(
      lastJson(await ok(["dump", b, join(src, "d/new.txt"), "--target", join(f.dir, "dumped")]))
        .bytes,
      4,
    );
    const restored = lastJson(await ok(["restore", a, "--target", join(f.dir, "restored")]));
    assert.equal(restored.files_restored, 1);
    assert.equal(lastJson(await ok(["check"])).ok, true);
    assert.equal(lastJson(await ok(["check", "--read-data"])).ok, true);
    const keys = (await ok(["key", "list"]))[0] as { id: string; current: boolean }[];
    assert.equal(keys.length, 1);
    const added = lastJson(await ok(["key", "add", "--new-password-file", join(f.dir, "pw2")]));
    assert.equal(lastJson(await ok(["key", "remove", String(added.id).slice(0, 8)])).id, added.id);
    assert.equal(lastJson(await ok(["key", "export"])).format, "file");
    assert.equal(lastJson(await ok(["key", "export", "--paper"])).format, "paper");
    assert.equal(
      lastJson(await ok(["key", "export", "--output", join(f.dir, "master.key")])).output,
      join(f.dir, "master.key"),
    );
    await ok(["key", "passwd", "--new-password-file", join(f.dir, "pw3")]);
    password = "third password";
    await ok(["snapshots"]);
    assert.equal(lastJson(await ok(["version"])).version, "0.1.0");

    // Commands this table does not know (added later): whatever they print must be JSON.
    for (const c of commands) {
      if (covered.has(c.name)) continue;
      const r = await runCoffer([c.name, "--json"], f.env({ COFFER_PASSWORD: password }));
      assertAllJson(`${c.name} --json`, r);
    }
  });

  test("errors with --json are one JSON line on stderr, with a code, and nothing on stdout", async () => {
    const cases: { args: string[]; env?: Record<string, string>; exit: number; code: string }[] = [
      { args: ["snapshots"], env: { COFFER_PASSWORD: "wrong" }, exit: 12, code: "WRONG_PASSWORD" },
      { args: ["snapshots", "-r", join(f.dir, "missing")], exit: 10, code: "REPO_NOT_FOUND" },
      { args: ["ls", "ffffffff"], exit: 1, code: "SNAPSHOT_NOT_FOUND" },
      { args: ["restore", "latest"], exit: 2, code: "BAD_INPUT" },
      { args: ["backup", "--no-such-flag"], exit: 2, code: "BAD_INPUT" },
      { args: ["no-such-command"], exit: 2, code: "BAD_INPUT" },
      { args: ["backup", join(f.dir, "not-there")], exit: 1, code: "NOT_FOUND" },
    ];
    for (const c of cases) {
      // the test before changed the password with `key passwd`
      const r = await runCoffer([...c.args, "--json"], {
        ...f.env({ COFFER_PASSWORD: "third password" }),
        ...(c.env ?? {}),
      });
      assert.equal(r.code, c.exit, `${c.args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout.length, 0, `${c.args.join(" ")}: stdout ${r.stdout.toString()}`);
      const lines = jsonLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      const e = lines[0] as { message_type: string; code: string; message: string };
      assert.equal(e.message_type, "error");
      assert.equal(e.code, c.code, r.stderr);
      assert.ok(e.message.length > 0 && !e.message.includes("\n"));
    }
  });
});
