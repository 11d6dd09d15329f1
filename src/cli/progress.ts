import type { CliIO } from "./io.ts";
import { formatBytes, formatDuration, type Output } from "./output.ts";

/** A progress sample reported by backup or restore. */
export interface ProgressSample {
  files: number;
  bytes: number;
  totalFiles?: number | undefined;
  totalBytes?: number | undefined;
  current?: string | undefined;
}

/**
 * Draws a one-line progress bar on a TTY (files, bytes, rate, ETA), or writes JSON status
 * lines with `--json`. Throttled to a few updates a second.
 */
export class Progress {
  private last = 0;
  private readonly start: number;
  private drawn = false;

  constructor(
    private readonly io: CliIO,
    private readonly out: Output,
    private readonly verb: string,
    private readonly intervalMs = 250,
  ) {
    this.start = io.clock.now();
  }

  /** Reports a sample; draws only if the interval has passed. */
  update(p: ProgressSample): void {
    const now = this.io.clock.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? p.bytes / elapsed : 0;
    const eta =
      p.totalBytes !== undefined && rate > 0 ? (p.totalBytes - p.bytes) / rate : undefined;
    if (this.out.json) {
      if (this.out.quiet) return;
      this.io.stderr.write(
        `${JSON.stringify({
          message_type: "status",
          action: this.verb,
          seconds_elapsed: Math.round(elapsed),
          files_done: p.files,
          bytes_done: p.bytes,
          total_files: p.totalFiles,
          total_bytes: p.totalBytes,
          bytes_per_second: Math.round(rate),
          seconds_remaining: eta === undefined ? undefined : Math.round(eta),
        })}\n`,
      );
      return;
    }
    if (!this.out.interactive) return;
    const pct =
      p.totalBytes !== undefined && p.totalBytes > 0
        ? ` ${((100 * p.bytes) / p.totalBytes).toFixed(1).padStart(5)}%`
        : "";
    const files = p.totalFiles !== undefined ? `${p.files}/${p.totalFiles}` : String(p.files);
    const total = p.totalBytes !== undefined ? ` / ${formatBytes(p.totalBytes)}` : "";
    const line =
      `[${formatDuration(elapsed)}]${pct} ${files} files ${formatBytes(p.bytes)}${total}` +
      ` ${formatBytes(rate)}/s${eta !== undefined ? ` ETA ${formatDuration(eta)}` : ""}`;
    const width = this.io.stderr.columns ?? 80;
    this.io.stderr.write(`\r\x1b[K${line.slice(0, width - 1)}`);
    this.drawn = true;
  }

  /** Clears the bar. */
  done(): void {
    if (this.drawn) this.io.stderr.write("\r\x1b[K");
    this.drawn = false;
  }
}
