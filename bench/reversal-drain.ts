/**
 * How fast the worker drains a reversal backlog with no rate limit in the way:
 * reversal jobs per second against the fake Stripe, the job-queue stage of
 * refund_to_reversed on its own (compared with the no-op job rate: what one
 * reversal job costs beyond graphile-worker's own work). A job waits for its
 * Stripe call, so WORKER_CONCURRENCY ÷ the PSP latency bounds the rate whatever
 * else a job costs; the share of that bound reached is reported too.
 */
import { awaitReversals, createReversalBacklog, notReversed } from "./backlog.ts";
import type { Harness } from "./harness.ts";
import { round } from "./stats.ts";

export interface DrainResult {
  reversals: number;
  seconds: number;
  per_s: number;
  /** WORKER_CONCURRENCY × 1000 ÷ fake PSP latency (ms): jobs cannot go faster. */
  concurrency_bound_per_s: number;
  ratio_to_concurrency_bound: number;
  not_reversed: number;
}

export async function benchReversalDrain(
  h: Harness,
  orderIds: readonly string[],
  options: { concurrency: number; pspLatencyMs: number },
): Promise<DrainResult> {
  const before = h.completion.times("reversal_reversed").length;
  const backlog = await createReversalBacklog(h.pool, orderIds);
  const last = await awaitReversals(h.completion, before, backlog.reversals, 120_000);
  const seconds = (last - backlog.appearedAt) / 1000;
  const bound = (options.concurrency * 1000) / Math.max(options.pspLatencyMs, 1);
  return {
    reversals: backlog.reversals,
    seconds: round(seconds),
    per_s: round(backlog.reversals / seconds),
    concurrency_bound_per_s: round(bound),
    ratio_to_concurrency_bound: round(backlog.reversals / seconds / bound, 3),
    not_reversed: await notReversed(h.pool, orderIds),
  };
}
