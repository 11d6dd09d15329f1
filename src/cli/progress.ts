import type { CliIO } from "./io.ts";
import { formatDuration, type Output } from "./output.ts";

/** A progress sample reported by backup or restore. */
export interface ProgressSample {
  files: number;
  bytes: number;
  totalFiles?: number | undefined;
  totalBytes?: number | undefined;
}

/** Width of the `[=====>    ]` bar in characters (between the brackets). */
const BAR_WIDTH = 20;

/**
 * Draws a one-line progress bar on a TTY (elapsed time, percentage bar, files, bytes, rate,
 * ETA), or writes JSON `status` lines on stderr with `--json`. Throttled to a few updates a
 * second; {@link start} adds a once-a-second redraw so the clock moves during a large file.
 */
export class Progress {
  private last = -Infinity;
  private readonly started: number;
  private drawn = false;
  private sample: ProgressSample = { files: 0, bytes: 0 };
  private totals: { files: number; bytes: number; final: boolean } | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  private readonly intervalMs: number;
  private readonly tickMs: number;

  /**
   * `COFFER_PROGRESS_FPS` (like restic's `RESTIC_PROGRESS_FPS`) sets how many times a second
   * the line may be redrawn; default 4, with a redraw at least once a second.
   */
  constructor(
    private readonly io: CliIO,
    private readonly out: Output,
    private readonly verb: string,
  ) {
    this.started = io.clock.now();
    const fps = Number(io.env.COFFER_PROGRESS_FPS);
    const valid = Number.isFinite(fps) && fps > 0;
    this.intervalMs = valid ? 1000 / fps : 250;
    this.tickMs = valid ? Math.min(1000, this.intervalMs) : 1000;
  }

  /** Whether anything is shown at all (a TTY bar, or JSON status lines). */
  get active(): boolean {
    return this.out.interactive || (this.out.json && !this.out.quiet);
  }

  /** Redraws every second even without new samples. */
  start(): void {
    if (!this.active || this.ticker !== undefined) return;
    this.ticker = setInterval(() => {
      this.draw(true);
    }, this.tickMs);
    this.ticker.unref();
  }

  /**
   * Totals found by a concurrent scan (used when the sample has none). Until `final` (the scan
   * is done) they only grow: no percentage or ETA is shown from them, and the file count reads
   * `10/24+`. Totals the backup has overtaken (a file grew, the scan is behind) are not shown.
   */
  setTotals(files: number, bytes: number, final = false): void {
    this.totals = { files, bytes, final };
  }

  /** Reports a sample; draws only if the interval has passed. */
  update(p: ProgressSample): void {
    this.sample = p;
    this.draw(false);
  }

  private draw(force: boolean): void {
    const now = this.io.clock.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const p = this.sample;
    const t = this.totals;
    const trusted =
      t !== undefined && t.final && p.files <= t.files && p.bytes <= t.bytes ? t : undefined;
    const totalFiles = p.totalFiles ?? trusted?.files;
    const totalBytes = p.totalBytes ?? trusted?.bytes;
    const scanned =
      p.totalFiles === undefined && t !== undefined && !t.final && t.files > p.files
        ? t.files
        : undefined;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? p.bytes / elapsed : 0;
    const eta =
      totalBytes !== undefined && rate > 0 ? Math.max(0, totalBytes - p.bytes) / rate : undefined;
    if (this.out.json) {
      if (this.out.quiet) return;
      this.io.stderr.write(
        `${JSON.stringify({
          message_type: "status",
          action: this.verb,
          seconds_elapsed: Math.round(elapsed),
          percent_done:
            totalBytes !== undefined && totalBytes > 0
              ? Math.min(1, p.bytes / totalBytes)
              : undefined,
          files_done: p.files,
          bytes_done: p.bytes,
          total_files: totalFiles,
          total_bytes: totalBytes,
          bytes_per_second: Math.round(rate),
          seconds_remaining: eta === undefined ? undefined : Math.round(eta),
        })}\n`,
      );
      return;
    }
    if (!this.out.interactive) return;
    this.io.stderr.write(
      `\r\x1b[K${this.line(elapsed, p, totalFiles, totalBytes, rate, eta, scanned)}`,
    );
    this.drawn = true;
  }

  private line(
    elapsed: number,
    p: ProgressSample,
    totalFiles: number | undefined,
    totalBytes: number | undefined,
    rate: number,
    eta: number | undefined,
    scanned: number | undefined,
  ): string {
    const files =
      totalFiles !== undefined
        ? `${String(p.files)}/${String(totalFiles)}`
        : scanned !== undefined
          ? `${String(p.files)}/${String(scanned)}+`
          : String(p.files);
    const total = totalBytes !== undefined ? ` / ${shortBytes(totalBytes)}` : "";
    const tail =
      ` ${files} files ${shortBytes(p.bytes)}${total} ${shortBytes(rate)}/s` +
      (eta !== undefined ? ` ETA ${formatDuration(eta)}` : "");
    // A pseudo-terminal without a size reports 0 columns.
    const cols = this.io.stderr.columns;
    const width = (cols !== undefined && cols > 20 ? cols : 80) - 1;
    let head = `[${formatDuration(elapsed)}]`;
    if (totalBytes !== undefined) {
      const frac = totalBytes > 0 ? Math.min(1, p.bytes / totalBytes) : 1;
      head += ` ${(100 * frac).toFixed(1).padStart(5)}%`;
      // The bar takes what room is left, up to BAR_WIDTH; under 5 characters it is left out.
      const room = Math.min(BAR_WIDTH, width - head.length - tail.length - 3);
      if (room >= 5) {
        const full = Math.floor(frac * room);
        const tip = full < room ? ">" : "";
        head += ` [${"=".repeat(full)}${tip}${" ".repeat(room - full - tip.length)}]`;
      }
    }
    return (head + tail).slice(0, width);
  }

  /** Stops the ticker and clears the bar (call before printing anything else). */
  done(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    this.clear();
  }

  /** Clears the bar; it is redrawn by the next update. */
  clear(): void {
    if (this.drawn) this.io.stderr.write("\r\x1b[K");
    this.drawn = false;
  }
}

/** A byte count with one decimal, for the narrow progress line: `19.1 MiB`. */
export function shortBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(Math.round(n))} B` : `${v.toFixed(1)} ${units[u] ?? "B"}`;
}
