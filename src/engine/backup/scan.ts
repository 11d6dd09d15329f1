import { walkEvents } from "../../fsmeta/walker.ts";

/** Running totals of a {@link scanTotals} walk. */
export interface ScanTotals {
  files: number;
  dirs: number;
  bytes: number;
}

/** Options for {@link scanTotals}: the same selection options a backup takes. */
export interface ScanOptions {
  excludes?: readonly string[];
  excludeFiles?: readonly string[];
  oneFileSystem?: boolean;
  signal?: AbortSignal;
  /** Called now and then with the totals so far (the last call has the final totals). */
  onUpdate?: (t: ScanTotals) => void;
}

/**
 * Counts the regular files, directories and file bytes a backup of `paths` will visit, so a
 * progress bar can show a percentage and an ETA (restic's scanner does the same, alongside
 * the backup). Only `lstat`s: no file is opened. Problems are ignored (the backup reports
 * them); an aborted signal ends the scan early with the totals so far.
 */
export async function scanTotals(
  paths: readonly string[],
  o: ScanOptions = {},
): Promise<ScanTotals> {
  const t: ScanTotals = { files: 0, dirs: 0, bytes: 0 };
  let seen = 0;
  try {
    for await (const ev of walkEvents(paths, {
      ...(o.excludes ? { excludes: o.excludes } : {}),
      ...(o.excludeFiles ? { excludeFiles: o.excludeFiles } : {}),
      ...(o.oneFileSystem === true ? { oneFileSystem: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    })) {
      if (ev.type === "enter") t.dirs++;
      else if (ev.type === "entry" && ev.entry.kind === "file") {
        t.files++;
        t.bytes += Number(ev.entry.stat.size);
      }
      if (++seen % 256 === 0) o.onUpdate?.({ ...t });
    }
  } catch {
    // interrupted or unreadable exclude file: the backup itself reports it
  }
  o.onUpdate?.({ ...t });
  return t;
}
