// Tests of the client/server split rules (scripts/package-layout.mjs, ADR 0013).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { SHARED, boundaryViolations, importsOf, isServerOnly } from "./package-layout.mjs";

const roots = [];
/** A repository with `files` (path → text) and the two package manifests. */
function fixture(files) {
  const root = mkdtempSync(join(tmpdir(), "coffer-layout-"));
  roots.push(root);
  const all = {
    "packages/client/package.json": JSON.stringify({ dependencies: { yaml: "^2" } }),
    "packages/server/package.json": JSON.stringify({
      dependencies: { "@coffer/client": "0.1.0", "better-sqlite3": "^12" },
    }),
    ...files,
  };
  for (const [p, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("client/server boundary", () => {
  test("boundaryViolations() names each client module that imports a server-only module", () => {
    const root = fixture({
      "src/server/db.ts": "export const x = 1;\n",
      "src/cli/server/run.ts": "export const y = 1;\n",
      "src/agent/a.ts": 'import { x } from "../server/db.ts";\n',
      "src/agent/b.ts": 'import type { X } from "../server/db.ts";\n',
      "src/cli/c.ts": 'const m = await import("./server/run.ts");\n',
      "src/cli/d.ts": 'export { y } from "./server/run.ts";\n',
    });
    assert.deepEqual(
      boundaryViolations(root).map((p) => p.split(":")[0]),
      [
        "src/agent/a.ts imports src/server/db.ts",
        "src/agent/b.ts imports src/server/db.ts",
        "src/cli/c.ts imports src/cli/server/run.ts",
        "src/cli/d.ts imports src/cli/server/run.ts",
      ],
    );
  });

  test("server modules, tests, test harnesses and comments are allowed", () => {
    const root = fixture({
      "src/server/db.ts": 'import { a } from "../engine/a.ts";\n',
      "src/engine/a.ts":
        '// see ../server/db.ts\n/* import { x } from "../server/db.ts"; */\nexport const a = 1;\n',
      "src/agent/schedule.ts": 'import { parseCron } from "../cron/cron.ts";\n',
      "src/storage/s3.test.ts": 'import { h } from "../server/testing/harness.ts";\n',
      "src/cli/testing/run.ts": 'import { h } from "../../server/db.ts";\n',
    });
    assert.deepEqual(boundaryViolations(root), []);
  });

  test("a shared module may not pull the server into the client", (t) => {
    SHARED.set("src/server/alerts/cron.ts", "a shared module, for this test");
    t.after(() => SHARED.delete("src/server/alerts/cron.ts"));
    const root = fixture({
      "src/server/db.ts": "export const x = 1;\n",
      "src/server/alerts/cron.ts": 'import { x } from "../db.ts";\n',
    });
    assert.match(
      boundaryViolations(root).join("\n"),
      /^src\/server\/alerts\/cron\.ts imports src\/server\/db\.ts: a module shared with the client must not import the server/,
    );
  });

  test("a module importing a package its installable does not declare is named", () => {
    const root = fixture({
      "src/dumps/sqlite.ts":
        'import Database from "better-sqlite3";\nimport { parse } from "yaml";\nimport { x } from "node:fs";\n',
      "src/server/db.ts": 'import Database from "better-sqlite3";\n',
      "src/server/mail.ts": 'import nodemailer from "nodemailer";\n',
    });
    assert.deepEqual(boundaryViolations(root), [
      "src/dumps/sqlite.ts imports better-sqlite3, which packages/client/package.json does not declare (the client installable would not find it; see ADR 0013)",
      "src/server/mail.ts imports nodemailer, which packages/server/package.json does not declare (the server installable would not find it; see ADR 0013)",
    ]);
  });

  test("this repository's sources keep the boundary", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    assert.deepEqual(boundaryViolations(root), []);
  });

  test("importsOf() sees static, re-export, dynamic and type-only imports", () => {
    const text = [
      'import a from "a";',
      'import type { B } from "./b.ts";',
      'export * from "./c.ts";',
      'const d = await import("./d.ts");',
      'import "./e.ts";',
    ].join("\n");
    assert.deepEqual(importsOf(text), [
      { spec: "a", typeOnly: false },
      { spec: "./b.ts", typeOnly: true },
      { spec: "./c.ts", typeOnly: false },
      { spec: "./d.ts", typeOnly: false },
      { spec: "./e.ts", typeOnly: false },
    ]);
    assert.equal(isServerOnly("dist/cli/server/run.js"), true);
    assert.equal(isServerOnly("dist/server/alerts/alerter.js"), true);
    assert.equal(isServerOnly("dist/cron/cron.js"), false);
  });
});
