/** What the restore sub-domain offers the rest of Coffer. */
export { MAX_RAW } from "./blob.ts";
export { restore } from "./restore.ts";
