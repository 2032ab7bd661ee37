/**
 * The fake Stripe's own time: object `created` stamps, webhook signature
 * timestamps and the 24 h expiry of idempotency keys all read it, so a test can
 * jump a day ahead without waiting one.
 */
import type { Clock } from "../../../di/tokens.ts";

export interface FakeClock {
  /** Milliseconds since the epoch: the base clock plus every advance so far. */
  now(): number;
  /** Moves time forward (never back: Stripe's clock does not run backwards). */
  advance(ms: number): number;
  /** Forgets the advances. */
  reset(): void;
}

export function createFakeClock(base: Clock = Date.now): FakeClock {
  let offset = 0;
  return {
    now: () => base() + offset,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError(`cannot advance the clock by ${ms} ms`);
      offset += ms;
      return base() + offset;
    },
    reset() {
      offset = 0;
    },
  };
}

/** Stripe's timestamps are whole seconds since the epoch. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
