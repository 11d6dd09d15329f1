/** The `copy` job kind: this repository's snapshots copied to a second repository. */
import { readFile } from "node:fs/promises";
import { copySnapshots } from "../copy/copy.ts";
import { CofferError } from "../core/errors.ts";
import { Repository } from "../engine/repository/index.ts";
import { openStorage } from "../storage/open.ts";
import type { JobWhat } from "./config-types.ts";
import type { WorkContext, WorkResult } from "./work.ts";

/** Copies the snapshots (of `w.job`, else all) not yet in `w.to`; a second run copies nothing. */
export async function copyOut(
  w: Extract<JobWhat, { kind: "copy" }>,
  c: WorkContext,
): Promise<WorkResult> {
  let password: string;
  try {
    password = (await readFile(w.passwordFile, "utf8")).replace(/\r?\n$/, "");
  } catch (err) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot read password file ${w.passwordFile}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const storage = await openStorage(w.to, { env: c.env });
  try {
    const dst = await Repository.open(storage, password);
    const r = await copySnapshots(c.repo, dst, {
      ...(w.job !== undefined ? { filter: { tags: [[`job:${w.job}`]] } } : {}),
      signal: c.signal,
      onSnapshot: (e) => {
        c.log(
          e.copied
            ? `snapshot ${e.source.slice(0, 8)} copied to ${e.destination.slice(0, 8)} (${String(e.blobsAdded)} new blobs)`
            : `snapshot ${e.source.slice(0, 8)} already copied`,
        );
      },
    });
    return {
      snapshots: [], // the copies live in the other repository: logged above, not reported here
      bytesRead: r.bytesRead,
      bytesAdded: r.bytesStored,
    };
  } finally {
    await storage.close?.();
  }
}
