import { isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";

/** A damaged object skipped so that the rest of the repository stays usable. */
export interface RepoWarning {
  /** What it is about: `index 3fa1c2d4` or `snapshot 3fa1c2d4`. */
  object: string;
  /** One line naming the object, what is wrong, and the repair command. */
  message: string;
}

/**
 * Where a repository reports the damaged objects it skips (restic's behaviour: carry on
 * with what is readable, and say what was left out). Each object is reported once.
 */
export class DamageLog {
  /** Receives each warning (the CLI prints it on stderr); unset: warnings are only kept. */
  onWarning: ((w: RepoWarning) => void) | undefined;
  /** Every warning reported so far, in order. */
  readonly warnings: RepoWarning[] = [];
  readonly #seen = new Set<string>();

  /** Reports a damaged object, once per `object`. */
  warn(object: string, message: string): void {
    if (this.#seen.has(object)) return;
    this.#seen.add(object);
    const w = { object, message };
    this.warnings.push(w);
    this.onWarning?.(w);
  }

  /** A damaged index object that was skipped. */
  damagedIndex(id: string, message: string): void {
    this.warn(`index ${shortId(id)}`, `${message}; skipped (run coffer repair index)`);
  }

  /**
   * For callers listing every snapshot: one that cannot be decoded (CORRUPT) is skipped with
   * a warning, one deleted meanwhile (SNAPSHOT_NOT_FOUND) silently; other errors throw.
   */
  skipUnreadableSnapshot(id: string, err: unknown): void {
    if (isCofferError(err, "SNAPSHOT_NOT_FOUND")) return;
    if (!isCofferError(err, "CORRUPT")) throw err;
    this.warn(
      `snapshot ${shortId(id)}`,
      `${err.message}; skipped (run coffer repair snapshots --forget)`,
    );
  }
}
