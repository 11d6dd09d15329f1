// Runs every `sh` block of README.md, in order, in one shell, the way a new user (or CI on a
// fresh checkout) would, so the README cannot drift from the product again.
//
// The blocks run as written. What the test provides is the machine they describe, in a
// private mount and network namespace so nothing leaks out: an empty /srv and /var (with
// /var/www and a SQLite database to back up), an empty HOME and /tmp, the checkout seen
// through an overlay (so files the README writes, like web-01.txt, vanish), loopback
// networking, and PostgreSQL/MariaDB databases named `shop`. Two npm commands are not run
// again: `npm install`/`npm ci` (CI's `npm ci` already ran; re-running it rebuilds the
// native modules) and `npm test` (the suite this test is part of). A block preceded by
// `<!-- readme-test: skip: REASON -->` is not run; the reason must name what tests it instead.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { myAdmin, myDrop, pgAdmin, pgDrop } from "../dumps/testing/servers.ts";
import { shellBlocks } from "./testing/readme-blocks.ts";

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** The machine the README talks about, set up inside the namespace before the blocks run. */
const SETUP = String.raw`set -euo pipefail
ip link set lo up
etc=$(mktemp -d "$SCRATCH/etc.XXXX")  # a still copy of /etc: packages may be installed meanwhile
cp -a /etc/. "$etc"/ 2>/dev/null || true
mount --bind "$etc" /etc
mount -t tmpfs tmpfs /srv
mount -t tmpfs tmpfs /var
ln -s /run /var/run
ln -s /run/lock /var/lock
mkdir -m 1777 /var/tmp
mkdir -p /var/www/html /var/lib/app
printf '<h1>hello</h1>\n' > /var/www/html/index.html
printf 'GET /\n' > /var/www/access.log
sqlite3 /var/lib/app/app.db "create table notes (id integer primary key, body text); insert into notes (body) values ('first'), ('second');"
upper=$(mktemp -d "$SCRATCH/upper.XXXX")
work=$(mktemp -d "$SCRATCH/work.XXXX")
mount -t overlay overlay -o "lowerdir=$REPO,upperdir=$upper,workdir=$work" "$REPO"
rm -rf "$REPO/dist"  # in the overlay only: the blocks run the sources under test, never a stale build
exec 3< "$SCRATCH/readme.sh"  # /tmp is replaced next
mount -t tmpfs tmpfs /tmp
mkdir -m 700 /tmp/home
export HOME=/tmp/home
cd "$REPO"
exec bash /dev/fd/3
`;

/** Runs before the first block: the two npm commands that are not re-run. */
const PRELUDE = [
  "set -Eeuo pipefail",
  "npm() {",
  '  case "${1:-}" in',
  "    install | ci)",
  '      [ -d node_modules ] || { echo "readme-test: npm $1: node_modules is missing" >&2; return 1; }',
  '      echo "readme-test: npm $1: already done (CI\'s npm ci)";;',
  '    test) echo "readme-test: npm test: the suite this test is part of";;',
  '    *) command npm "$@";;',
  "  esac",
  "}",
  "README_LINE=0",
  "trap 'jobs -p | xargs -r kill' EXIT  # a background server never outlives the README",
  `trap 'echo "readme-test: README.md:$README_LINE: failed (exit $?): $BASH_COMMAND" >&2' ERR`,
  "",
].join("\n");

const EPILOGUE = String.raw`
for job in $(jobs -p); do kill "$job"; done
wait || true
echo "readme-test: every block ran"
`;

function canSandbox(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mount namespaces, tmpfs, overlay)";
  const r = spawnSync("unshare", ["-m", "-n", "-p", "-f", "--mount-proc", "true"]);
  if (r.status !== 0) return "unshare -m -n -p is not permitted here";
  return undefined;
}

describe("README.md, run as written (slow: every command of the README)", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "coffer-readme-"));
  });
  after(async () => {
    await pgDrop("shop").catch(() => undefined);
    await pgDrop("shop_check").catch(() => undefined);
    await myDrop("shop").catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  });

  test(
    "every sh block of README.md succeeds, in order, in one shell",
    { timeout: 30 * 60_000 },
    async (t) => {
      const why = canSandbox();
      if (why !== undefined) {
        t.skip(why);
        return;
      }
      const blocks = shellBlocks(await readFile(join(root, "README.md"), "utf8"));
      const run = blocks.filter((b) => b.skip === undefined);
      assert.ok(run.length >= 5, `only ${String(run.length)} runnable blocks`);
      for (const b of blocks)
        if (b.skip !== undefined)
          assert.match(
            b.skip,
            /test/,
            `README.md:${String(b.line)}: a skip must say what tests it instead`,
          );

      // The databases the README backs up.
      await pgDrop("shop");
      await pgDrop("shop_check");
      await pgAdmin('create database "shop"');
      await pgAdmin(
        "create table orders (id int primary key, item text); insert into orders select g, 'item ' || g from generate_series(1, 100) g",
        "shop",
      );
      await myDrop("shop");
      await myAdmin("create database shop");
      await myAdmin(
        "create table orders (id int primary key, item text); insert into orders values (1, 'one'), (2, 'two')",
        "shop",
      );

      const script =
        PRELUDE +
        run
          .map((b) => `\n# README.md:${String(b.line)}\nREADME_LINE=${String(b.line)}\n${b.code}\n`)
          .join("") +
        EPILOGUE;
      await writeFile(join(scratch, "readme.sh"), script);
      // A clean environment for coffer: none of the caller's repository, password or keys.
      const env = Object.fromEntries(
        Object.entries({ ...process.env, REPO: root, SCRATCH: scratch }).filter(
          ([k]) => !k.startsWith("COFFER_") && !k.startsWith("AWS_"),
        ),
      );
      const child = spawn(
        "unshare",
        ["-m", "-n", "-p", "-f", "--mount-proc", "--propagation", "private", "bash", "-c", SETUP],
        {
          env,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout.on("data", (b: Buffer) => (output += b.toString()));
      child.stderr.on("data", (b: Buffer) => (output += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      const tail = output.split("\n").slice(-60).join("\n");
      assert.equal(code, 0, `README failed:\n${tail}`);
      assert.match(output, /readme-test: every block ran/, tail);
      assert.doesNotMatch(output, /readme-test: README\.md:\d+: failed/, tail);
    },
  );
});
