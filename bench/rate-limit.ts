/**
 * Behaviour under a PSP rate limit: STRIPE_MAX_REQUESTS_PER_SECOND set, the fake
 * Stripe enforcing the same limit with 429s, and a backlog of reversals that
 * appears at once (refunds of many orders applied in one transaction, as a burst
 * of refund webhooks would). Reported: the rate Stripe saw while the backlog
 * drained, against the limit, and how many requests it refused.
 */
import { awaitReversals, createReversalBacklog, notReversed } from "./backlog.ts";
import type { Harness } from "./harness.ts";
import { round } from "./stats.ts";

export interface RateLimitResult {
  limit_per_s: number;
  fake_bucket_burst: number;
  reversals: number;
  /** Successful reversal requests per second at the fake, first to last. */
  achieved_per_s: number;
  achieved_ratio: number;
  responses_429: number;
  /** Backlog appeared → last reversal recorded. */
  drain_seconds: number;
  not_reversed: number;
}

const REVERSALS_PATH = /^\/v1\/transfers\/[^/]+\/reversals$/;

export async function benchRateLimit(
  h: Harness,
  orderIds: readonly string[],
  options: { limit: number; burst: number },
): Promise<RateLimitResult> {
  const before = h.completion.times("reversal_reversed").length;
  const unlimited = h.config.stripeMaxRequestsPerSecond;
  h.config.stripeMaxRequestsPerSecond = options.limit;
  await h.stripe.setConditions({
    rateLimitPerSecond: options.limit,
    rateLimitBurst: options.burst,
  });
  await h.stripe.clearRequests();
  const backlog = await createReversalBacklog(h.pool, orderIds);
  const last = await awaitReversals(
    h.completion,
    before,
    backlog.reversals,
    (backlog.reversals / options.limit) * 3_000 + 30_000,
  );
  const ok = (await h.stripe.requests({ method: "POST", path: REVERSALS_PATH }))
    .filter((r) => r.outcome === 200)
    .map((r) => Date.parse(r.at));
  const spanS = ok.length > 1 ? (Math.max(...ok) - Math.min(...ok)) / 1000 : Number.NaN;
  const achieved = (ok.length - 1) / spanS;
  const result: RateLimitResult = {
    limit_per_s: options.limit,
    fake_bucket_burst: options.burst,
    reversals: ok.length,
    achieved_per_s: round(achieved),
    achieved_ratio: round(achieved / options.limit, 3),
    responses_429: (await h.stripe.conditions()).rateLimited,
    drain_seconds: round((last - backlog.appearedAt) / 1000),
    not_reversed: await notReversed(h.pool, orderIds),
  };
  await h.stripe.setConditions({ rateLimitPerSecond: null });
  h.config.stripeMaxRequestsPerSecond = unlimited;
  return result;
}
