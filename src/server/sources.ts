import { randomBytes } from "node:crypto";
import { CofferError } from "../core/errors.ts";
import { type DbInt, type Queryable } from "./db/dialect.ts";
import type { MasterKey } from "./master-key.ts";

/** A protected server: one bucket, one credential pair, one policy. */
export interface Source {
  id: number;
  name: string;
  bucket: string;
  accessKeyId: string;
  region: string;
  disabled: boolean;
  scratchPrefixes: string[];
  deletionDelayMs: number;
  legalHold: boolean;
  createdAt: number;
  credentialsRotatedAt: number | null;
}

/** A source together with its decrypted secret (only the auth path and `source add` need it). */
export interface SourceWithSecret extends Source {
  secretAccessKey: string;
}

interface Row {
  id: number;
  name: string;
  bucket: string;
  access_key_id: string;
  secret_enc: string;
  region: string;
  disabled: number;
  scratch_prefixes: string;
  deletion_delay_ms: DbInt;
  legal_hold: number;
  created_at: DbInt;
  credentials_rotated_at: DbInt | null;
}

function fromRow(r: Row): Source {
  return {
    id: r.id,
    name: r.name,
    bucket: r.bucket,
    accessKeyId: r.access_key_id,
    region: r.region,
    disabled: r.disabled !== 0,
    scratchPrefixes: JSON.parse(r.scratch_prefixes) as string[],
    deletionDelayMs: Number(r.deletion_delay_ms),
    legalHold: r.legal_hold !== 0,
    createdAt: Number(r.created_at),
    credentialsRotatedAt:
      r.credentials_rotated_at === null ? null : Number(r.credentials_rotated_at),
  };
}

/** Source names double as bucket names, so they follow S3's bucket naming rules. */
export function validateSourceName(name: string): void {
  if (
    !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) ||
    name.includes("..") ||
    /^\d+\.\d+\.\d+\.\d+$/.test(name)
  ) {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid source name ${JSON.stringify(name)}: use 3-63 lower-case letters, digits, '-' or '.' (a bucket name)`,
    );
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A fresh AWS-style credential pair: `CO` + 18 base32 chars, and a 40-char secret. */
export function newCredentials(): { accessKeyId: string; secretAccessKey: string } {
  const id = [...randomBytes(18)].map((b) => ALNUM[b % 32]).join("");
  const secret = randomBytes(30).toString("base64").replace(/\+/g, "A").replace(/\//g, "B");
  return { accessKeyId: `CO${id}`, secretAccessKey: secret };
}

/** Source records in the metadata database; secrets sealed under the server master key. */
export class SourceStore {
  constructor(
    private readonly db: Queryable,
    private readonly master: MasterKey,
  ) {}

  async add(
    o: { name: string; region: string; scratchPrefixes: string[]; deletionDelayMs: number },
    now: number,
  ): Promise<SourceWithSecret> {
    validateSourceName(o.name);
    const existing = await this.db.get<{ id: number }>(
      "SELECT id FROM sources WHERE name = ? OR bucket = ?",
      [o.name, o.name],
    );
    if (existing !== undefined)
      throw new CofferError("ALREADY_EXISTS", `Source ${o.name} already exists`);
    const cred = newCredentials();
    await this.db.run(
      `INSERT INTO sources (name, bucket, access_key_id, secret_enc, region, disabled, scratch_prefixes,
         deletion_delay_ms, legal_hold, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 0, ?)`,
      [
        o.name,
        o.name,
        cred.accessKeyId,
        this.master.seal(cred.secretAccessKey, `source:${cred.accessKeyId}`),
        o.region,
        JSON.stringify(o.scratchPrefixes),
        o.deletionDelayMs,
        now,
      ],
    );
    const s = await this.byName(o.name);
    if (s === undefined) throw new CofferError("IO", `Source ${o.name} vanished after insert`);
    return { ...s, secretAccessKey: cred.secretAccessKey };
  }

  async list(): Promise<Source[]> {
    return (await this.db.all<Row>("SELECT * FROM sources ORDER BY name")).map(fromRow);
  }

  async byName(name: string): Promise<Source | undefined> {
    const r = await this.db.get<Row>("SELECT * FROM sources WHERE name = ?", [name]);
    return r === undefined ? undefined : fromRow(r);
  }

  async byBucket(bucket: string): Promise<Source | undefined> {
    const r = await this.db.get<Row>("SELECT * FROM sources WHERE bucket = ?", [bucket]);
    return r === undefined ? undefined : fromRow(r);
  }

  /** The source owning `accessKeyId`, with its decrypted secret; `undefined` if unknown. */
  async byAccessKey(accessKeyId: string): Promise<SourceWithSecret | undefined> {
    const r = await this.db.get<Row>("SELECT * FROM sources WHERE access_key_id = ?", [
      accessKeyId,
    ]);
    if (r === undefined) return undefined;
    return {
      ...fromRow(r),
      secretAccessKey: this.master.open(r.secret_enc, `source:${r.access_key_id}`),
    };
  }

  async require(name: string): Promise<Source> {
    const s = await this.byName(name);
    if (s === undefined) throw new CofferError("NOT_FOUND", `Unknown source ${name}`);
    return s;
  }

  /** Replaces the credential pair; the old key stops working at once. */
  async rotate(name: string, now: number): Promise<SourceWithSecret> {
    const s = await this.require(name);
    const cred = newCredentials();
    await this.db.run(
      "UPDATE sources SET access_key_id = ?, secret_enc = ?, credentials_rotated_at = ? WHERE id = ?",
      [
        cred.accessKeyId,
        this.master.seal(cred.secretAccessKey, `source:${cred.accessKeyId}`),
        now,
        s.id,
      ],
    );
    return { ...(await this.require(name)), secretAccessKey: cred.secretAccessKey };
  }

  /** Disables (or re-enables) a source: its credentials are refused, its data is kept. */
  async setDisabled(name: string, disabled: boolean): Promise<Source> {
    const s = await this.require(name);
    await this.db.run("UPDATE sources SET disabled = ? WHERE id = ?", [disabled ? 1 : 0, s.id]);
    return this.require(name);
  }
}
