/**
 * Retry pacing of transfers and reversals (SPEC §3): delay = min(base × 2^retry_count,
 * max); after `maxRetries` failed retries the row gives up (permanently_failed).
 */
import type { RetryPolicy } from "../config.ts";

export interface RetryDecision {
  giveUp: boolean;
  /** The row's retry_count after this failure. */
  retryCount: number;
  /** When to try again (epoch ms); meaningless when giving up. */
  nextRetryAt: number;
}

export function afterFailure(policy: RetryPolicy, retryCount: number, now: number): RetryDecision {
  if (retryCount >= policy.maxRetries) return { giveUp: true, retryCount, nextRetryAt: now };
  const delay = Math.min(policy.backoffBaseMs * 2 ** retryCount, policy.backoffMaxMs);
  return { giveUp: false, retryCount: retryCount + 1, nextRetryAt: now + delay };
}

/**
 * Stripe keeps an idempotency key 24 hours; after that the same key runs as a new
 * request. Automatic retries stop an hour before, so a retry can never double a
 * transfer whose first attempt succeeded unseen.
 */
export const AUTOMATIC_RETRY_WINDOW_MS = 23 * 60 * 60 * 1000;
