import { randomBytes } from "node:crypto";
import type { Clock, Random } from "./deps.ts";

/** The real wall clock, for the I/O edges to inject into pure code. */
export const systemClock: Clock = { now: () => Date.now() };

/** Cryptographically secure randomness from the OS. */
export const systemRandom: Random = (n) => randomBytes(n);
