import { hostname, userInfo } from "node:os";
import { CofferError } from "../core/errors.ts";
import { defaultCacheDir } from "../engine/cache/index.ts";
import { RepoCache } from "../engine/cache/index.ts";
import { Repository } from "../engine/repository/index.ts";
import { openStorage } from "../storage/open.ts";
import type { Storage } from "../storage/storage.ts";
import { str, type ParsedArgs } from "./args.ts";
import { guardCommit } from "./commit-guard.ts";
import type { CliIO } from "./io.ts";
import { Output } from "./output.ts";
import { readPassword } from "./password.ts";

/** What a command gets: the process edges, the output, and helpers to open the repository. */
export class CliContext {
  readonly out: Output;
  private storageCache: Storage | undefined;
  private openedKey: Uint8Array | undefined;

  constructor(
    readonly io: CliIO,
    readonly args: ParsedArgs,
  ) {
    this.out = new Output(io, args.values.json === true, args.values.quiet === true);
  }

  /** The repository location from `-r` or `COFFER_REPOSITORY`. */
  get repoUrl(): string {
    const r = str(this.args, "repo") ?? this.io.env.COFFER_REPOSITORY;
    if (r === undefined || r === "") {
      throw new CofferError(
        "BAD_INPUT",
        "No repository given: use -r/--repo or set COFFER_REPOSITORY",
      );
    }
    return r;
  }

  /** This machine's host name (for snapshots and key files). */
  get hostname(): string {
    return hostname();
  }

  /** The user running coffer. */
  get username(): string {
    try {
      return userInfo().username;
    } catch {
      return String(process.getuid?.() ?? "unknown");
    }
  }

  /** The storage backend for the repository location (no snapshot is written after an interrupt). */
  async storage(): Promise<Storage> {
    if (this.storageCache) return this.storageCache;
    // The environment's TLS settings are ambient (set for the gateway in a profile): they apply
    // to s3: repositories only. The same settings as flags on another repository are refused.
    const s3 = this.repoUrl.startsWith("s3:");
    const ca = str(this.args, "tls-ca") ?? (s3 ? this.io.env.COFFER_TLS_CA : undefined);
    const fp =
      str(this.args, "tls-fingerprint") ?? (s3 ? this.io.env.COFFER_TLS_FINGERPRINT : undefined);
    const storage = await openStorage(this.repoUrl, {
      env: this.io.env,
      cwd: this.io.cwd,
      ...(ca !== undefined ? { caFile: ca } : {}),
      ...(fp !== undefined ? { fingerprint: fp } : {}),
    });
    this.storageCache = guardCommit(storage, this.io.signal);
    return this.storageCache;
  }

  /** The password, from the sources `readPassword` documents. */
  async password(prompt?: string, confirm = false): Promise<string> {
    return readPassword(
      this.io,
      {
        passwordCommand: str(this.args, "password-command"),
        passwordFile: str(this.args, "password-file"),
      },
      prompt,
      confirm,
    );
  }

  /**
   * Opens the repository with the password (exit 10 when missing, 12 on a wrong password).
   * A remote repository gets the local cache (index objects, snapshots, tree packs) unless
   * `--no-cache` (ADR 0012).
   */
  async repository(): Promise<Repository> {
    const storage = await this.storage();
    const password = await this.password();
    const repo = await Repository.open(storage, password);
    this.openedKey = repo.master.encKey;
    // Damaged index objects and snapshots are skipped with a warning naming them.
    repo.damage.onWarning = (w) => {
      this.out.warn(w.message, { object: w.object });
    };
    const base =
      this.args.values["no-cache"] === true || storage.location.startsWith("local:")
        ? undefined
        : (str(this.args, "cache-dir") ?? defaultCacheDir(this.io.env));
    if (base !== undefined) {
      repo.cache = new RepoCache(base, repo.id);
      await repo.cache.touch();
    }
    return repo;
  }

  /** The opened repository's encryption key: failed-run status details are sealed under it. */
  statusKey(): Uint8Array | undefined {
    return this.openedKey;
  }

  /** Releases the storage backend. */
  async close(): Promise<void> {
    await this.storageCache?.close?.();
  }
}
