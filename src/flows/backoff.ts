/**
 * Retry pacing of transfers and reversals (SPEC §3): delay = min(base × 2^retry_count,
 * max); after `maxRetries` failed retries the row gives up (permanently_failed).
 */
import type { RetryPolicy } from "../config.ts";
import type { PspError } from "../psp/errors.ts";

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

/**
 * A row older than the window may have had its first call made by a run that
 * crashed before recording anything (retry_count still 0, no unknown outcome on
 * the row). Within the window the same key replays that call; past it the key
 * would run as a new request, so the object is looked up first (transfers,
 * reversals) or left for a person (payouts, which Stripe cannot find by our id).
 */
export function pastKeyWindow(createdAt: number, now: number): boolean {
  return now - createdAt > AUTOMATIC_RETRY_WINDOW_MS;
}

export type FailureDecision =
  | { giveUp: true; reason: string }
  | {
      giveUp: false;
      reason: string;
      retryCount: number;
      nextRetryAt: number;
      outcomeUnknown: boolean;
    };

/**
 * What a job does with a failed PSP call (SPEC §1.2): a permanent failure gives up
 * at once; a retryable or unknown one is retried by backoff until the retries are
 * used up. `mayExist`: an earlier call's outcome is still unresolved, so the next
 * run must look the object up first, whatever this failure was.
 */
export function decideAfterPspFailure(
  policy: RetryPolicy,
  retryCount: number,
  error: PspError,
  mayExist: boolean,
  now: number,
): FailureDecision {
  if (error.kind === "permanent") return { giveUp: true, reason: error.summary() };
  const next = afterFailure(policy, retryCount, now);
  if (next.giveUp) {
    return {
      giveUp: true,
      reason: `retries used up (${policy.maxRetries}); last: ${error.summary()}`,
    };
  }
  return {
    giveUp: false,
    reason: error.summary(),
    retryCount: next.retryCount,
    nextRetryAt: next.nextRetryAt,
    outcomeUnknown: mayExist || error.kind === "unknown",
  };
}
