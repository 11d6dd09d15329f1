import type { CliIO } from "./io.ts";

/** Where a command writes: human text, or JSON for `--json`. */
export class Output {
  constructor(
    private readonly io: CliIO,
    /** True with `--json`: results are one JSON document (or JSON lines) on stdout. */
    readonly json: boolean,
    /** True with `--quiet`: no progress and no informational messages. */
    readonly quiet = false,
  ) {}

  /** A line of human output on stdout (suppressed in JSON mode). */
  line(text = ""): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  /**
   * A line of a success summary on stdout: suppressed with `--quiet` (so cron mails nothing
   * when all went well) and in JSON mode. Failures still print (warnings, errors).
   */
  summary(text = ""): void {
    if (!this.quiet) this.line(text);
  }

  /** An informational message on stderr (suppressed with --quiet or --json). */
  info(text: string): void {
    if (!this.quiet && !this.json) this.io.stderr.write(`${text}\n`);
  }

  /**
   * A warning on stderr: `warning: TEXT`, or in JSON mode a JSON line
   * `{"message_type":"warning","message":TEXT,...fields}`.
   */
  warn(text: string, fields: Record<string, unknown> = {}): void {
    if (this.json)
      this.io.stderr.write(
        `${JSON.stringify({ message_type: "warning", message: text, ...fields })}\n`,
      );
    else this.io.stderr.write(`warning: ${text}\n`);
  }

  /** A JSON value on stdout (JSON mode only). */
  data(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Raw bytes to stdout (e.g. `dump`). */
  get stdout(): NodeJS.WritableStream {
    return this.io.stdout;
  }

  /** True when progress bars should be drawn (stderr is a TTY, not quiet, not JSON). */
  get interactive(): boolean {
    return !this.quiet && !this.json && this.io.stderr.isTTY === true;
  }
}

/** `1 pack`, `2 packs`; `plural(2, "index object")` → `2 index objects`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${String(n)} ${n === 1 ? word : many}`;
}

/** Formats a byte count the way restic does: `1.234 GiB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(Math.round(n))} B` : `${v.toFixed(3)} ${units[u] ?? "B"}`;
}

/** Formats seconds as `1:02:03` or `2:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${String(h)}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}
