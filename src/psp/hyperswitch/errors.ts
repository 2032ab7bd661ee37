/**
 * Hyperswitch's answers mapped onto the three failure kinds of SPEC §1.2, plus the
 * two outcomes that need a type of their own:
 *   MaybeAlreadyDone  our merchant-chosen id is already taken (HE_01, or IR_13 on a
 *                     refund replay): the call may have been done before. Look the
 *                     object up by our id and adopt it.
 *   PaymentDeclined / RefundFailed  HTTP 200 with `status: "failed"`: a permanent
 *                     failure that must not pass for success.
 */
import { PspError, type PspFailureKind } from "../errors.ts";
import { ErrorBodySchema, type Payment, type Refund } from "./types.ts";

const PROVIDER = "hyperswitch" as const;

export class MaybeAlreadyDone extends PspError {
  override name = "MaybeAlreadyDone";
  readonly object: "payment" | "refund";
  /** Our id: the payment_id or refund_id to GET. */
  readonly id: string;

  constructor(object: "payment" | "refund", id: string, cause: PspError) {
    super({
      provider: PROVIDER,
      kind: "unknown",
      code: cause.code,
      message: cause.message,
      httpStatus: cause.httpStatus,
      requestId: cause.requestId,
      cause,
    });
    this.object = object;
    this.id = id;
  }
}

export class PaymentDeclined extends PspError {
  override name = "PaymentDeclined";
  readonly payment: Payment;

  constructor(payment: Payment, requestId: string | null) {
    super({
      provider: PROVIDER,
      kind: "permanent",
      code: payment.error_code ?? payment.unified_code ?? "payment_failed",
      message: payment.error_message ?? payment.unified_message ?? "the payment failed",
      httpStatus: 200,
      requestId,
    });
    this.payment = payment;
  }
}

export class RefundFailed extends PspError {
  override name = "RefundFailed";
  readonly refund: Refund;

  constructor(refund: Refund, requestId: string | null) {
    super({
      provider: PROVIDER,
      kind: "permanent",
      code: refund.error_code ?? refund.unified_code ?? "refund_failed",
      message: refund.error_message ?? refund.unified_message ?? "the refund failed",
      httpStatus: 200,
      requestId,
    });
    this.refund = refund;
  }
}

/**
 * The kind of an HTTP error answer:
 * - 422 HE_00 is ResourceBusy (the API lock was not acquired, nothing ran), and a
 *   429 is a rate limit (the docs promise one; the router code has none): retryable.
 * - 5xx, HE_00 included: the request may have run before it failed: unknown.
 * - Any other 4xx (IR_*, HE_02…, 422 IR_05), and a 200 carrying an error body
 *   (DomainError, `type: "blocked"`): permanent.
 */
export function kindOf(status: number, code: string | null): PspFailureKind {
  if (status === 429 || (status === 422 && code === "HE_00")) return "retryable";
  if (status >= 500) return "unknown";
  return "permanent";
}

/** A PspError from an error answer: the `{"error":{…}}` body when there is one, else the raw text. */
export function errorFromResponse(
  status: number,
  rawBody: string,
  requestId: string | null,
): PspError {
  let code: string | null = null;
  let message = rawBody.trim().slice(0, 300) || `HTTP ${status}`;
  const parsed = ErrorBodySchema.safeParse(safeJson(rawBody));
  if (parsed.success) {
    const { error } = parsed.data;
    code = error.code ?? null;
    message = error.message ?? message;
    // HE_01 on a payment carries the clash in `reason`; keep it for the operator.
    if (error.reason) message = `${message} (${error.reason})`;
  }
  return new PspError({
    provider: PROVIDER,
    kind: kindOf(status, code),
    code,
    message,
    httpStatus: status,
    requestId,
  });
}

/**
 * Socket-level codes that prove the request never reached Hyperswitch: nothing was
 * done, so the same call can simply be retried.
 */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** A PspError from a fetch that produced no complete answer. */
export function errorFromTransport(error: unknown, timeoutMs: number): PspError {
  const base = { provider: PROVIDER, code: null, httpStatus: null, requestId: null, cause: error };
  if (error instanceof Error && error.name === "TimeoutError") {
    // We cannot tell "not sent yet" from "sent, answer pending": it may have run.
    return new PspError({ ...base, kind: "unknown", message: `no answer within ${timeoutMs} ms` });
  }
  const code = socketCode(error);
  if (code && NOT_SENT.has(code)) {
    return new PspError({ ...base, kind: "retryable", message: `not sent: ${code}` });
  }
  // A connection dropped after the request went out, or an answer cut short.
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new PspError({ ...base, kind: "unknown", message: `connection failed: ${detail}` });
}

/** undici wraps the socket error in `cause` (an AggregateError when several addresses were tried). */
function socketCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (current instanceof AggregateError) {
      const first = current.errors.find((e) => typeof (e as { code?: unknown })?.code === "string");
      if (first) return (first as { code: string }).code;
    }
    current = current.cause;
  }
  return null;
}

export function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
