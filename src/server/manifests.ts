import { type DbInt, type Queryable } from "./db/dialect.ts";

/** What the gateway keeps of a client manifest (see docs/format.md, "Manifest"). */
export interface ManifestFacts {
  snapshot: string;
  host: string;
  tags: string[];
  /** The client-claimed time, as written; never used for retention. */
  time: string;
  stats: unknown;
  packs: string[];
}

/** A manifest as recorded, with the server's commit time. */
export interface ManifestRecord extends ManifestFacts {
  bucket: string;
  key: string;
  committedAt: number;
}

interface Row {
  bucket: string;
  key: string;
  snapshot_id: string;
  host: string;
  tags: string;
  client_time: string;
  committed_at: DbInt;
  packs: string;
  stats: string;
}

const fromRow = (r: Row): ManifestRecord => ({
  bucket: r.bucket,
  key: r.key,
  snapshot: r.snapshot_id,
  host: r.host,
  tags: JSON.parse(r.tags) as string[],
  time: r.client_time,
  committedAt: Number(r.committed_at),
  packs: JSON.parse(r.packs) as string[],
  stats: JSON.parse(r.stats) as unknown,
});

/** Snapshot manifests received through the gateway: the input of retention, GC and alerts. */
export class ManifestStore {
  constructor(private readonly db: Queryable) {}

  /** Records a manifest once; a repeated identical upload keeps the first commit time. */
  async record(bucket: string, key: string, m: ManifestFacts, committedAt: number): Promise<void> {
    await this.db.run(
      `INSERT INTO manifests (bucket, key, snapshot_id, host, tags, client_time, committed_at, packs, stats)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (bucket, key) DO NOTHING`,
      [
        bucket,
        key,
        m.snapshot,
        m.host,
        JSON.stringify(m.tags),
        m.time,
        committedAt,
        JSON.stringify(m.packs),
        JSON.stringify(m.stats ?? null),
      ],
    );
  }

  async get(bucket: string, key: string): Promise<ManifestRecord | undefined> {
    const r = await this.db.get<Row>("SELECT * FROM manifests WHERE bucket = ? AND key = ?", [
      bucket,
      key,
    ]);
    return r === undefined ? undefined : fromRow(r);
  }

  async list(bucket: string): Promise<ManifestRecord[]> {
    return (
      await this.db.all<Row>(
        "SELECT * FROM manifests WHERE bucket = ? ORDER BY committed_at, key",
        [bucket],
      )
    ).map(fromRow);
  }
}
