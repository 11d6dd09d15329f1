// Markdown results of scripts/bench.mjs: coffer vs restic (ratio and target, the columns
// earlier records in docs/benchmarks.md have), then borg and coffer vs borg.

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const secs = (m) => `${m.seconds.toFixed(2)} s`;
const peak = (r) =>
  Math.max(
    ...Object.values(r)
      .filter((v) => v.rssMiB)
      .map((v) => v.rssMiB),
  );

/**
 * One row per measure: `value(toolResults)` for the cells, `compare(coffer, other, name)`
 * for a ratio cell such as `1.56× restic's speed`.
 */
const measures = [
  ["first backup", "speed", (r) => r["first backup"], "≥ 2.5×"],
  ["unchanged rerun", "time", (r) => r["unchanged rerun"], "≤ 0.5×"],
  ["after --mutate", "speed", (r) => r["after mutate"], ""],
  ["full restore", "speed", (r) => r["full restore"], "≥ 2×"],
  ["check --read-data", "speed", (r) => r["check read-data"], ""],
  ["forget + prune --max-unused 0", "time", (r) => r["forget + prune"], ""],
  ["repository size after prune", "bytes", (r) => r.prunedRepoBytes, "≤ 1×"],
  ["peak RSS (max of steps)", "rss", (r) => peak(r), "≤ 1×"],
  ["peak RSS, first backup", "rss", (r) => r["first backup"].rssMiB, "≤ 1×"],
  ["repository size", "bytes", (r) => r.repoBytes, "≤ 1×"],
];
const kinds = {
  speed: { cell: secs, ratio: (c, o, n) => `${(o.seconds / c.seconds).toFixed(2)}× ${n}'s speed` },
  time: { cell: secs, ratio: (c, o, n) => `${(c.seconds / o.seconds).toFixed(2)}× ${n}'s time` },
  bytes: { cell: mib, ratio: (c, o, n) => `${(c / o).toFixed(3)}× ${n}'s` },
  rss: { cell: (v) => `${v.toFixed(0)} MiB`, ratio: (c, o, n) => `${(c / o).toFixed(2)}× ${n}'s` },
};

/**
 * Rows `[step, coffer, restic, ratio, target, borg, coffer vs borg]`; the borg cells are
 * empty when `results.borg` is absent.
 */
export function benchRows(results) {
  const { coffer: c, restic: r, borg: b } = results;
  return measures.map(([label, kind, pick, target]) => {
    const k = kinds[kind];
    const row = [label, k.cell(pick(c)), k.cell(pick(r)), k.ratio(pick(c), pick(r), "restic")];
    row.push(target);
    if (b) row.push(k.cell(pick(b)), k.ratio(pick(c), pick(b), "borg"));
    else row.push("", "");
    return row;
  });
}

/** Peak RSS of every measured step, one row per step: `[step, coffer, restic, borg]`. */
export function rssRows(results, steps) {
  return steps.map((s) => [
    s,
    ...["coffer", "restic", "borg"].map((t) => {
      const m = results[t]?.[s];
      return m ? `${m.rssMiB.toFixed(0)} MiB` : "";
    }),
  ]);
}

/** The whole markdown block bench.mjs prints and, with --record, appends. */
export function benchMarkdown({ header, results, steps }) {
  const table = (rows) => rows.map((row) => `| ${row.join(" | ")} |`);
  return [
    header,
    "",
    "| step | coffer | restic | ratio | target | borg | coffer vs borg |",
    "|---|---|---|---|---|---|---|",
    ...table(benchRows(results)),
    "",
    "| peak RSS per step | coffer | restic | borg |",
    "|---|---|---|---|",
    ...table(rssRows(results, steps)),
    "",
  ].join("\n");
}
