import { CofferError } from "../../core/errors.ts";
import type { Dialect } from "./dialect.ts";

/** One schema step. Steps are append-only: never edit a released one, add the next. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The metadata schema. Times are integer milliseconds since the epoch (server clock).
 * Later issues add: retention policies, audit log, alert expectations (new versions).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sources, objects, uploads, deletions, manifests",
    sql: `
CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  bucket TEXT NOT NULL UNIQUE,
  access_key_id TEXT NOT NULL UNIQUE,
  secret_enc TEXT NOT NULL,
  region TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  scratch_prefixes TEXT NOT NULL,
  deletion_delay_ms BIGINT NOT NULL,
  legal_hold INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  credentials_rotated_at BIGINT
);
CREATE TABLE objects (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  etag TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
);
CREATE TABLE multipart_uploads (
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  initiated_at BIGINT NOT NULL,
  initiated_by TEXT NOT NULL
);
CREATE INDEX multipart_uploads_bucket ON multipart_uploads (bucket, key, upload_id);
CREATE TABLE multipart_parts (
  upload_id TEXT NOT NULL REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
  part_number INTEGER NOT NULL,
  size BIGINT NOT NULL,
  etag TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE deletions (
  id INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('user', 'retention', 'gc')),
  requested_by TEXT NOT NULL,
  requested_at BIGINT NOT NULL,
  execute_after BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('PENDING', 'CANCELLED', 'EXECUTED')),
  state_changed_at BIGINT,
  state_changed_by TEXT,
  request_id TEXT
);
CREATE UNIQUE INDEX deletions_one_pending ON deletions (bucket, key) WHERE state = 'PENDING';
CREATE INDEX deletions_due ON deletions (state, execute_after);
CREATE TABLE manifests (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  snapshot_id TEXT NOT NULL,
  host TEXT NOT NULL,
  tags TEXT NOT NULL,
  client_time TEXT NOT NULL,
  committed_at BIGINT NOT NULL,
  packs TEXT NOT NULL,
  stats TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
);
CREATE INDEX manifests_snapshot ON manifests (bucket, snapshot_id);
CREATE INDEX manifests_commit ON manifests (bucket, committed_at);
`,
  },
  {
    version: 2,
    name: "audit log, alert expectations, alerts, alert outbox",
    sql: `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  time BIGINT NOT NULL,
  request_id TEXT,
  source TEXT,
  credential TEXT,
  client_ip TEXT,
  action TEXT NOT NULL,
  object_key TEXT,
  bytes BIGINT,
  result TEXT NOT NULL,
  error_code TEXT,
  detail TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_source ON audit_log (source, seq);
CREATE TABLE alert_expectations (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  grp TEXT NOT NULL,
  tag_match TEXT,
  cron TEXT,
  tz TEXT NOT NULL,
  every_ms BIGINT,
  grace_ms BIGINT NOT NULL,
  down_after TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  state TEXT NOT NULL DEFAULT 'up',
  state_since BIGINT NOT NULL,
  UNIQUE (source, grp)
);
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  dedup TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  grp TEXT,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  last_notified_at BIGINT,
  resolved_at BIGINT,
  summary TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX alerts_open ON alerts (state, source);
CREATE TABLE alert_outbox (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER,
  channel TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT,
  sent_at BIGINT
);
CREATE INDEX alert_outbox_due ON alert_outbox (state, next_attempt_at);
CREATE TABLE alert_cursors (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 3,
    name: "retention policies, deletion execution steps",
    sql: `
CREATE TABLE retention_policies (
  bucket TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE deletion_steps (
  id INTEGER PRIMARY KEY,
  deletion_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  at BIGINT NOT NULL,
  detail TEXT
);
CREATE INDEX deletion_steps_deletion ON deletion_steps (deletion_id, id);
CREATE INDEX deletions_key ON deletions (bucket, key, state)
`,
  },
  {
    version: 4,
    name: "index objects and the packs their plaintext list names",
    sql: `
CREATE TABLE index_objects (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  listed INTEGER NOT NULL,
  recorded_at BIGINT NOT NULL,
  PRIMARY KEY (bucket, key)
);
CREATE TABLE index_packs (
  bucket TEXT NOT NULL,
  index_key TEXT NOT NULL,
  pack_id TEXT NOT NULL,
  PRIMARY KEY (bucket, index_key, pack_id)
);
CREATE INDEX index_packs_pack ON index_packs (bucket, pack_id)
`,
  },
  {
    version: 5,
    name: "object and multipart upload headers (Content-Type, x-amz-meta-*)",
    sql: `
CREATE TABLE object_headers (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  headers TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
);
CREATE TABLE upload_headers (
  upload_id TEXT PRIMARY KEY,
  headers TEXT NOT NULL
)
`,
  },
];

/**
 * Applies every migration newer than the database, each in its own transaction. A database
 * newer than this program → `DB_VERSION` (refuse rather than guess).
 */
export async function migrate(db: Dialect, now: number): Promise<number> {
  await db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
  );
  const row = await db.get<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations");
  const current = row?.v ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new CofferError(
      "DB_VERSION",
      `Metadata schema version ${current} is newer than this coffer-server (${latest}): upgrade coffer-server`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await db.transaction(async (tx) => {
      // Another process may have migrated between our check and this transaction.
      const done = await tx.get("SELECT 1 AS x FROM schema_migrations WHERE version = ?", [
        m.version,
      ]);
      if (done !== undefined) return;
      for (const stmt of m.sql
        .split(/;\s*\n/)
        .map((s) => s.trim())
        .filter((s) => s !== "")) {
        await tx.run(stmt);
      }
      await tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        m.version,
        m.name,
        now,
      ]);
    });
  }
  return latest;
}
