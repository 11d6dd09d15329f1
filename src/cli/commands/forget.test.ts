import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cliFixture, lastJson, type CliFixture } from "../testing/cli-fixture.ts";
import { jsonLines } from "../testing/run-coffer.ts";

/** Snapshots made with `backup --time` (UTC): name → [host, time, tags]. */
const PLAN: Record<string, [string, string, string[]]> = {
  // h1: calendar rules. Jan 2026: Mon 5, Mon 12, Tue 20, Wed 28, Thu 29, Fri 30 (twice), Sat 31.
  s1: ["h1", "2026-01-05 10:00:00", []],
  s2: ["h1", "2026-01-12 10:00:00", []],
  s3: ["h1", "2026-01-20 10:00:00", []],
  s4: ["h1", "2026-01-28 09:00:00", []],
  s5: ["h1", "2026-01-29 09:00:00", []],
  s6: ["h1", "2026-01-30 09:00:00", []],
  s7: ["h1", "2026-01-30 18:00:00", []],
  s8: ["h1", "2026-01-31 23:00:00", []],
  // h2: grouping by tags, --keep-tag.
  d1: ["h2", "2026-01-10 12:00:00", ["db"]],
  w1: ["h2", "2026-01-15 12:00:00", ["web"]],
  d2: ["h2", "2026-01-20 12:00:00", ["db"]],
  w2: ["h2", "2026-01-25 12:00:00", ["web"]],
  // h3: the degressive preset (7d all, 3w 3/week, 8w 1/week, 12m 1/month, from the newest).
  oct1: ["h3", "2025-10-01 12:00:00", []],
  oct15: ["h3", "2025-10-15 12:00:00", []],
  jan20a: ["h3", "2026-01-20 08:00:00", []],
  jan20b: ["h3", "2026-01-20 09:00:00", []],
  jan31: ["h3", "2026-01-31 12:00:00", []],
};

describe("coffer forget on a local repository (slow: real processes)", () => {
  let fx: CliFixture;
  let src: string;
  const id: Record<string, string> = {};
  const short = (name: string): string => (id[name] ?? "?").slice(0, 8);
  const env = { TZ: "UTC" };
  const forget = (args: string[]) => fx.run(["forget", ...args], env);
  const listIds = async (host?: string): Promise<string[]> => {
    const [list] = await fx.json(["snapshots", ...(host !== undefined ? ["--host", host] : [])]);
    return (list as { id: string }[]).map((s) => s.id).sort();
  };
  const ids = (...names: string[]): string[] => names.map((n) => id[n] ?? n).sort();

  before(async () => {
    fx = await cliFixture("coffer-forget-");
    src = join(fx.dir, "src");
    await mkdir(src);
    await writeFile(join(src, "file.txt"), "content");
    const names = Object.keys(PLAN);
    const backup = async (name: string): Promise<void> => {
      const [host, time, tags] = PLAN[name]!;
      const args = ["backup", src, "--host", host, "--time", time];
      for (const t of tags) args.push("--tag", t);
      id[name] = lastJson(await fx.json(args, 0, env)).snapshot_id as string;
    };
    // Two at a time: backups take no lock.
    for (let i = 0; i < names.length; i += 2) await Promise.all(names.slice(i, i + 2).map(backup));
  });
  after(() => fx.remove());

  test("forget --keep-daily 3 --keep-weekly 2 --dry-run lists exactly what it keeps (with reasons) and forgets, removing nothing; without --dry-run it removes exactly those", async () => {
    const before = await listIds();
    const expected = (verb: string): string =>
      [
        `group host=h1 paths=${src} (default): keep 4, forget 4`,
        `  keep   ${short("s8")}  daily snapshot; weekly snapshot; newest snapshot`,
        `  keep   ${short("s7")}  daily snapshot`,
        `  keep   ${short("s5")}  daily snapshot`,
        `  keep   ${short("s3")}  weekly snapshot`,
        ...["s6", "s4", "s2", "s1"].map((n) => `  ${verb} ${short(n)}`),
      ].join("\n");
    const dry = await forget([
      "--host",
      "h1",
      "--keep-daily",
      "3",
      "--keep-weekly",
      "2",
      "--dry-run",
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.toString().trimEnd(), expected("would forget"));
    assert.deepEqual(await listIds(), before);

    const real = await forget(["--host", "h1", "--keep-daily", "3", "--keep-weekly", "2"]);
    assert.equal(real.code, 0, real.stderr);
    assert.equal(
      real.stdout.toString().trimEnd(),
      [
        expected("forget"),
        ...["s1", "s2", "s4", "s6"]
          .sort((a, b) => (id[a]! < id[b]! ? -1 : 1))
          .map((n) => `snapshot ${short(n)} removed`),
      ].join("\n"),
    );
    assert.deepEqual(await listIds("h1"), ids("s3", "s5", "s7", "s8"));
    assert.deepEqual(await listIds("h2"), ids("d1", "w1", "d2", "w2"), "other hosts untouched");
  });

  test("forget counts days, weeks and months in the local time zone (TZ), or --time-zone", async () => {
    // s8 is 2026-01-31 23:00 UTC: still January in UTC, already February in Paris.
    const kept = async (extra: string[], tz: string): Promise<string[]> => {
      const [doc] = await fx.json(
        ["forget", "--host", "h1", "--keep-monthly", "2", "--dry-run", ...extra],
        0,
        { TZ: tz },
      );
      const d = doc as { groups: { keep: { id: string }[] }[]; forgotten: { state: string }[] };
      assert.ok(d.forgotten.every((f) => f.state === "would-remove"));
      return d.groups.flatMap((g) => g.keep.map((k) => k.id)).sort();
    };
    assert.deepEqual(await kept([], "UTC"), ids("s8"));
    assert.deepEqual(await kept([], "Europe/Paris"), ids("s7", "s8"));
    assert.deepEqual(await kept(["--time-zone", "Europe/Paris"], "UTC"), ids("s7", "s8"));
    const bad = await forget([
      "--host",
      "h1",
      "--keep-monthly",
      "2",
      "--time-zone",
      "Mars/Olympus",
    ]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.match(bad.stderr, /Invalid --time-zone "Mars\/Olympus"/);
  });

  test("forget --group-by host,tags keeps per group; --keep-tag keeps every snapshot with the tag", async () => {
    const grouped = await forget([
      "--host",
      "h2",
      "--group-by",
      "host,tags",
      "--keep-last",
      "1",
      "--dry-run",
    ]);
    assert.equal(grouped.code, 0, grouped.stderr);
    assert.equal(
      grouped.stdout.toString().trimEnd(),
      [
        "group host=h2 tags=db (default): keep 1, forget 1",
        `  keep   ${short("d2")}  last snapshot; newest snapshot`,
        `  would forget ${short("d1")}`,
        "group host=h2 tags=web (default): keep 1, forget 1",
        `  keep   ${short("w2")}  last snapshot; newest snapshot`,
        `  would forget ${short("w1")}`,
      ].join("\n"),
    );
    const tagged = await forget(["--host", "h2", "--keep-last", "1", "--keep-tag", "db"]);
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.equal(
      tagged.stdout.toString().trimEnd(),
      [
        `group host=h2 paths=${src} (default): keep 3, forget 1`,
        `  keep   ${short("w2")}  last snapshot; newest snapshot`,
        `  keep   ${short("d2")}  tag db`,
        `  keep   ${short("d1")}  tag db`,
        `  forget ${short("w1")}`,
        `snapshot ${short("w1")} removed`,
      ].join("\n"),
    );
    assert.deepEqual(await listIds("h2"), ids("d1", "d2", "w2"));
  });

  test("forget --preset degressive --json reports groups, reasons and the removed snapshots with their manifests", async () => {
    const [out, ...rest] = await fx.json(
      ["forget", "--host", "h3", "--preset", "degressive"],
      0,
      env,
    );
    assert.deepEqual(rest, []);
    const r = out as {
      dryRun: boolean;
      groups: { key: string; policy: string; keep: unknown[]; forget: unknown[] }[];
      forgotten: { id: string; state: string; manifests: string[] }[];
    };
    assert.equal(r.dryRun, false);
    assert.deepEqual(r.groups, [
      {
        key: `host=h3 paths=${src}`,
        policy: "default",
        keep: [
          { id: id.jan31, reasons: ["tier 1: all", "newest snapshot"] },
          { id: id.jan20a, reasons: ["tier 2: 3/week"] },
          { id: id.oct1, reasons: ["tier 4: 1/month"] },
        ],
        forget: [{ id: id.jan20b }, { id: id.oct15 }],
      },
    ]);
    assert.deepEqual(
      r.forgotten.map((f) => [f.id, f.state, f.manifests.length]),
      ids("jan20b", "oct15").map((i) => [i, "removed", 1]),
    );
    for (const f of r.forgotten) assert.match(f.manifests[0] ?? "", /^manifests\/[0-9a-f]{64}$/);
    assert.deepEqual(await listIds("h3"), ids("jan31", "jan20a", "oct1"));
  });

  test("forget by ID prefix and by latest (after --host) removes exactly those; --dry-run removes nothing", async () => {
    const prefix = (id.s3 ?? "").slice(0, 6);
    const dry = await forget([prefix, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.toString().trimEnd(), `would forget snapshot ${short("s3")}`);
    assert.deepEqual(await listIds("h1"), ids("s3", "s5", "s7", "s8"));

    const byPrefix = await forget([prefix]);
    assert.equal(byPrefix.code, 0, byPrefix.stderr);
    assert.equal(byPrefix.stdout.toString().trimEnd(), `snapshot ${short("s3")} removed`);
    // `latest` honours the filter: h3's newest, not the repository's (h1's s8 is newer).
    const [latest] = (await fx.json(["forget", "latest", "--host", "h3"], 0, env)) as {
      dryRun: boolean;
      snapshots: { id: string; state: string; manifests: string[] }[];
    }[];
    assert.equal(latest?.dryRun, false);
    assert.deepEqual(
      latest.snapshots.map((o) => [o.id, o.state, o.manifests.length]),
      [[id.jan31, "removed", 1]],
    );
    assert.deepEqual(await listIds("h1"), ids("s5", "s7", "s8"));
    assert.deepEqual(await listIds("h3"), ids("jan20a", "oct1"));
    const unknown = await forget(["abcdef0123"]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "coffer: Cannot find snapshot abcdef0123: no such snapshot\n");
  });

  test("forget refuses bad input with one line and exit 2, and deletes nothing", async () => {
    const before = await listIds();
    const cases: [string[], RegExp][] = [
      [
        ["--preset", "nope"],
        /^coffer: Invalid retention policy: --preset: unknown --preset "nope" \(known: degressive, /,
      ],
      [
        ["--keep-daily", "x"],
        /^coffer: Invalid retention policy: --keep-daily must be a non-negative integer or "unlimited", got "x"$/,
      ],
      [["--keep-within", "soon"], /^coffer: Invalid retention policy: .*soon/],
      [
        [],
        /^coffer: forget: give snapshot IDs, --preset or --keep-\*\/--tier rules \(refusing to forget everything\)$/,
      ],
      [["--group-by", "host"], /refusing to forget everything/],
      [
        [id.s5 ?? "", "--keep-last", "1"],
        /^coffer: forget: give snapshot IDs or a policy, not both$/,
      ],
      [["--keep-daily"], /^coffer: forget: Option '--keep-daily <value>' argument missing/],
      [
        ["not-hex!"],
        /^coffer: Cannot find snapshot "not-hex!": expected "latest", "latest~N" or a hex snapshot ID$/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await forget(args);
      assert.equal(r.code, 2, `forget ${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? "", re);
      assert.equal(r.stdout.length, 0);
    }
    assert.deepEqual(await listIds(), before);
  });

  test("forget --prune forgets, then runs the prune planner and prints its report", async () => {
    const r = await forget([id.s5 ?? "", "--prune"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().trimEnd().split("\n");
    assert.equal(lines[0], `snapshot ${short("s5")} removed`);
    assert.match(lines[1] ?? "", /^\d+ packs, \d+ referenced by snapshots$/);
    const j = await fx.run(["forget", id.s7 ?? "", "--prune", "--json"], env);
    assert.equal(j.code, 0, j.stderr);
    const [forgot, pruned] = jsonLines(j.stdout.toString()) as Record<string, unknown>[];
    assert.deepEqual(
      (forgot?.snapshots as { id: string }[]).map((s) => s.id),
      [id.s7],
    );
    assert.equal(typeof pruned?.totalPacks, "number");
    assert.equal(typeof pruned?.referencedPacks, "number");
    assert.deepEqual(await listIds("h1"), ids("s8"));
  });
});
