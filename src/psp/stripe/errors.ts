/**
 * The Stripe outcomes the transfer, reversal and payout jobs branch on, as
 * PspError subclasses: each keeps its failure kind (SPEC §1.2) and Stripe's code,
 * status and request id, and adds what the job needs to act.
 */
import type Stripe from "stripe";
import { PspError, type PspErrorDetails, type PspFailureKind } from "../errors.ts";

/** What a subclass is built from: everything but the provider and the kind it fixes. */
export type StripeErrorDetails = Omit<PspErrorDetails, "provider" | "kind">;

function details(kind: PspFailureKind, d: StripeErrorDetails): PspErrorDetails {
  return { ...d, provider: "stripe", kind };
}

/** 404 `resource_missing` for a transfer: the reversal row goes `permanently_failed`. */
export class TransferNotFound extends PspError {
  override name = "TransferNotFound";
  constructor(
    readonly transferId: string,
    d: StripeErrorDetails,
  ) {
    super(details("permanent", d));
  }
}

/**
 * A reversal was refused because the transfer has no room left for it:
 * `reversed`, or `amount - amount_reversed` below the amount asked. Stripe has no
 * error code for this (a bare 400 invalid_request_error), so the service decides
 * it by retrieving the transfer, and carries the transfer and all its reversals
 * so the job can adopt the reversal that our earlier attempt made.
 */
export class AlreadyReversed extends PspError {
  override name = "AlreadyReversed";
  constructor(
    readonly transfer: Stripe.Transfer,
    /** Every reversal of the transfer, newest first (not only the 10 the transfer embeds). */
    readonly reversals: Stripe.TransferReversal[],
    d: StripeErrorDetails,
  ) {
    super(details("permanent", d));
  }

  /**
   * The reversal whose metadata holds every pair of `match` (e.g. our
   * `transfer_reversal_id`); null means the room was taken by other reversals.
   */
  matchingReversal(match: Record<string, string>): Stripe.TransferReversal | null {
    return this.reversals.find((r) => metadataMatches(r.metadata, match)) ?? null;
  }
}

/** `balance_insufficient`: the seller's (or the platform's) balance cannot cover it. */
export class InsufficientBalance extends PspError {
  override name = "InsufficientBalance";
  constructor(d: StripeErrorDetails) {
    super(details("permanent", d));
  }
}

/** 429, `rate_limit` or `lock_timeout`: nothing was done; retry with the same key after backoff. */
export class RateLimited extends PspError {
  override name = "RateLimited";
  constructor(d: StripeErrorDetails) {
    super(details("retryable", d));
  }
}

/**
 * `idempotency_error`: the key was used before with other parameters. Retrying
 * with that key can never succeed, and the earlier request's outcome is what
 * counts: a bug (the row's amount changed after its first call) to look at.
 */
export class IdempotencyMismatch extends PspError {
  override name = "IdempotencyMismatch";
  constructor(d: StripeErrorDetails) {
    super(details("permanent", d));
  }
}

/** A webhook whose `Stripe-Signature` does not verify (bad, missing, or older than the tolerance). */
export class InvalidWebhookSignature extends PspError {
  override name = "InvalidWebhookSignature";
  constructor(d: StripeErrorDetails) {
    super(details("permanent", d));
  }
}

export function metadataMatches(
  metadata: Stripe.Metadata | null | undefined,
  match: Record<string, string>,
): boolean {
  return Object.entries(match).every(([k, v]) => metadata?.[k] === v);
}
