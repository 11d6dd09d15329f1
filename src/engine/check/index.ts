/** What the check sub-domain offers the rest of Coffer. */
export { check, type CheckReport } from "./check.ts";
