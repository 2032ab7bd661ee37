/**
 * stripe-node's errors → PspError with the failure kind of SPEC §1.2, decided
 * from the SDK's error classes and fields (status, rawType, code, headers, the
 * transport error's code), never from message text:
 *   retryable  nothing was done: connection refused (the request never left),
 *              429 (`rate_limit`, `lock_timeout`), 409 `idempotency_key_in_use`,
 *              or a 4xx that Stripe itself marks `Stripe-Should-Retry: true`
 *   unknown    it may have executed: timeout after send, connection dropped,
 *              truncated answer, 5xx (Stripe replays a saved 5xx for the key)
 *   permanent  invalid request, card, permission, authentication errors
 */
import Stripe from "stripe";
import { PspError } from "../errors.ts";
import {
  IdempotencyMismatch,
  InsufficientBalance,
  RateLimited,
  type StripeErrorDetails,
  TransferNotFound,
} from "./errors.ts";

/**
 * Transport failures that happen before the request is written: the connection
 * was never made, so Stripe cannot have seen it.
 */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export interface ClassifyContext {
  /** The transfer the call is about: a 404 `resource_missing` then means TransferNotFound. */
  transferId?: string;
}

export function classifyStripeError(error: unknown, context: ClassifyContext = {}): PspError {
  if (error instanceof PspError) return error;
  if (!(error instanceof Stripe.errors.StripeError)) {
    // Not from the API or the transport layer we know: we cannot tell whether
    // the request went out, so it is treated as possibly executed.
    return new PspError({
      provider: "stripe",
      kind: "unknown",
      code: null,
      message: error instanceof Error ? error.message : String(error),
      httpStatus: null,
      requestId: null,
      cause: error,
    });
  }

  const d: StripeErrorDetails = {
    code: error.code ?? null,
    message: error.message,
    httpStatus: error.statusCode ?? null,
    requestId: error.requestId ?? null,
    cause: error,
  };

  if (error instanceof Stripe.errors.StripeConnectionError) {
    const transport = transportCode(error.detail);
    return new PspError({
      ...d,
      provider: "stripe",
      kind: transport !== null && NOT_SENT.has(transport) ? "retryable" : "unknown",
      message: transport ? `${error.message} (${transport})` : error.message,
    });
  }
  if (error instanceof Stripe.errors.StripeRateLimitError) return new RateLimited(d);
  if (error instanceof Stripe.errors.StripeIdempotencyError) return new IdempotencyMismatch(d);

  const status = error.statusCode;
  // No status: an answer we could not read as JSON. Something answered, so the
  // request may have run.
  if (status === undefined || status >= 500) return stripe("unknown", d);
  if (status === 409) return stripe("retryable", d);
  if (error.code === "balance_insufficient") return new InsufficientBalance(d);
  if (status === 404 && error.code === "resource_missing" && context.transferId !== undefined) {
    return new TransferNotFound(context.transferId, d);
  }
  if (status >= 400 && error.headers?.["stripe-should-retry"] === "true") {
    return stripe("retryable", d);
  }
  if (status >= 400) return stripe("permanent", d);
  // An error body with a non-error status is not something Stripe sends.
  return stripe("unknown", d);
}

function stripe(kind: PspError["kind"], d: StripeErrorDetails): PspError {
  return new PspError({ ...d, provider: "stripe", kind });
}

/** The Node error code under a StripeConnectionError (ECONNREFUSED, ECONNRESET, ETIMEDOUT…). */
function transportCode(detail: unknown): string | null {
  if (detail && typeof detail === "object" && "code" in detail) {
    const code = (detail as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}
