/** Injected clock: pure code never calls `Date.now()` itself. */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch. */
  now(): number;
}

/** Injected randomness: pure code never calls `Math.random()` or `randomBytes` itself. */
export type Random = (length: number) => Uint8Array;

/** A clock that returns a fixed, settable time; for tests and simulations. */
export class FakeClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
