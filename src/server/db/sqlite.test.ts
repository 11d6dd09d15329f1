import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteDialect } from "./sqlite.ts";

test("SqliteDialect commits durably: WAL with synchronous=FULL, so an acknowledged row survives power loss", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coffer-sqlite-"));
  try {
    const db = new SqliteDialect(join(dir, "m.sqlite"));
    assert.deepEqual(await db.get("PRAGMA journal_mode"), { journal_mode: "wal" });
    assert.deepEqual(await db.get("PRAGMA synchronous"), { synchronous: 2 }); // 2 = FULL
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
