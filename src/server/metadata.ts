import { join } from "node:path";
import type { Dialect } from "./db/dialect.ts";
import { migrate } from "./db/migrations.ts";
import { SqliteDialect } from "./db/sqlite.ts";
import { DeletionStore } from "./deletions.ts";
import { ObjectLedger } from "./ledger.ts";
import { ManifestStore } from "./manifests.ts";
import type { MasterKey } from "./master-key.ts";
import { SourceStore } from "./sources.ts";
import { UploadStore } from "./uploads.ts";

/** File name of the SQLite metadata database inside the data directory. */
export const METADATA_FILE = "metadata.sqlite";

/** The gateway's metadata: one dialect, one store per table group. */
export class Metadata {
  readonly sources: SourceStore;
  readonly objects: ObjectLedger;
  readonly uploads: UploadStore;
  readonly deletions: DeletionStore;
  readonly manifests: ManifestStore;

  private constructor(
    readonly db: Dialect,
    master: MasterKey,
  ) {
    this.sources = new SourceStore(db, master);
    this.objects = new ObjectLedger(db);
    this.uploads = new UploadStore(db);
    this.deletions = new DeletionStore(db);
    this.manifests = new ManifestStore(db);
  }

  /** Opens (and migrates) `<dataDir>/metadata.sqlite`. */
  static async openSqlite(dataDir: string, master: MasterKey, now: number): Promise<Metadata> {
    return Metadata.open(new SqliteDialect(join(dataDir, METADATA_FILE)), master, now);
  }

  /** Migrates `db` and wraps it. */
  static async open(db: Dialect, master: MasterKey, now: number): Promise<Metadata> {
    try {
      await migrate(db, now);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new Metadata(db, master);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
