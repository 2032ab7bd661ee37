/**
 * Standing conditions of a fake PSP, as opposed to one-off faults: a latency
 * every API request pays (the network and the provider's own work), and a
 * request-rate limit answered with 429 (Stripe: 25 requests/s in test mode,
 * 100 live). Benchmarks set them so that Settle's own cost can be told apart from
 * the provider's, and so that a client exceeding its budget shows up as 429s.
 *
 * The limit is a token bucket: `perSecond` tokens a second, at most `burst`
 * banked. A request that finds no token is refused at once, as Stripe does.
 */
import { z } from "zod";

export const ConditionsSchema = z
  .object({
    /** Added to every API request before it is handled. (Default: 0) */
    latencyMs: z.number().int().min(0).max(60_000),
    /** Requests per second; null = unlimited. (Default: null) */
    rateLimitPerSecond: z.number().positive().max(100_000).nullable(),
    /** Tokens the bucket holds. (Default: 1) */
    rateLimitBurst: z.number().int().min(1).max(100_000),
  })
  .partial()
  .strict();
export type ConditionsInput = z.input<typeof ConditionsSchema>;

export interface ConditionsState {
  latencyMs: number;
  rateLimitPerSecond: number | null;
  rateLimitBurst: number;
  /** Requests refused with 429 by the limit since it was last set. */
  rateLimited: number;
}

export class Conditions {
  #state: ConditionsState = {
    latencyMs: 0,
    rateLimitPerSecond: null,
    rateLimitBurst: 1,
    rateLimited: 0,
  };
  #tokens = 0;
  #refilledAt = 0;
  #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  set(input: ConditionsInput): ConditionsState {
    const patch = ConditionsSchema.parse(input);
    this.#state = { ...this.#state, ...patch };
    if ("rateLimitPerSecond" in patch || "rateLimitBurst" in patch) {
      this.#state.rateLimited = 0;
      this.#tokens = this.#state.rateLimitBurst;
      this.#refilledAt = this.#now();
    }
    return this.get();
  }

  get(): ConditionsState {
    return { ...this.#state };
  }

  reset(): void {
    this.set({ latencyMs: 0, rateLimitPerSecond: null, rateLimitBurst: 1 });
  }

  /** Takes a token for a request arriving now; false: answer 429. */
  admit(): boolean {
    const { rateLimitPerSecond: rate, rateLimitBurst: burst } = this.#state;
    if (rate === null) return true;
    const now = this.#now();
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#state.rateLimited++;
    return false;
  }
}
