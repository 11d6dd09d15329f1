import type { Readable } from "node:stream";
import { CofferError } from "../../core/errors.ts";

/**
 * A child process's output pipe, read from the moment the child is spawned, that counts the
 * bytes it hands on and keeps the last few of them.
 *
 * Why it exists: Node's `ChildProcess` *resumes* every stdio stream that nobody is reading
 * when the child exits (`flushStdio`), and a resumed stream with no `data` listener drops
 * its bytes. A caller that spawns a command and only starts iterating its stdout after an
 * `await` (loading the index, say) therefore reads nothing when the command is quick:
 * `echo hello` was stored as an empty file. A `readable` listener registered right away
 * keeps the stream paused through that `resume()` (a stream with `readable` listeners does
 * not flow), so the buffered bytes wait for the reader, and back-pressure still holds. (An
 * async iterator is not enough: it registers its listener only on its first `next()`.)
 */
export interface PipeSource extends AsyncIterable<Uint8Array> {
  /** Bytes handed on so far. */
  readonly bytes: number;
  /** The last bytes handed on (up to the `keepTail` given to {@link readPipe}). */
  tail(): Buffer;
  /** Stops reading and discards the rest (after a failure, so the pipe closes). */
  discard(): void;
}

/**
 * Starts reading `stream` now (see {@link PipeSource}); iterate the result once. Call this in
 * the same tick as `spawn()`, before any `await`.
 */
export function readPipe(stream: Readable, keepTail = 0): PipeSource {
  const hold = (): void => undefined;
  stream.on("readable", hold);
  let bytes = 0;
  let last: Buffer = Buffer.alloc(0);
  let taken = false;
  return {
    get bytes() {
      return bytes;
    },
    tail: () => last,
    discard: () => {
      stream.off("readable", hold);
      stream.destroy();
    },
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (taken) throw new CofferError("BAD_INPUT", "A command's output can only be read once");
      taken = true;
      const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const release = (): void => {
        stream.off("readable", hold);
      };
      return {
        next: async () => {
          const r = await it.next().catch((err: unknown) => {
            release();
            throw err;
          });
          if (r.done === true) release();
          else {
            bytes += r.value.length;
            if (keepTail > 0) {
              last =
                r.value.length >= keepTail
                  ? Buffer.from(r.value.subarray(r.value.length - keepTail))
                  : Buffer.concat([last, r.value]).subarray(-keepTail);
            }
          }
          return r;
        },
        return: async () => {
          release();
          return it.return ? it.return() : { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * Refuses to commit when the bytes stored differ from the bytes that came off the pipe:
 * defence in depth against any bug that loses output between the pipe and the chunker.
 */
export function assertAllStored(what: string, fromPipe: number, stored: number): void {
  if (fromPipe !== stored) {
    throw new CofferError(
      "CORRUPT",
      `${what}: read ${String(fromPipe)} bytes from the command but stored ${String(stored)}; nothing was committed`,
    );
  }
}
