import "reflect-metadata";
/**
 * The Hyperswitch v1 client: payments and refunds by merchant-chosen id, and the
 * cancel of a payment.
 *
 * Idempotency (SPEC §1.1, psp-facts A3): Hyperswitch ignores `Idempotency-Key`; the
 * merchant-chosen `payment_id` / `refund_id` is the real mechanism. The key is
 * therefore the first parameter of every create, sent as that id and as the header.
 * A replay is answered HE_01 (or IR_13 for a refund whose amount is no longer
 * available), never with the original object: that is `MaybeAlreadyDone`, and the
 * `…OrAdopt` methods resolve it (and every other unknown outcome) by GET-ing our id.
 *
 * Declines come back as HTTP 200 with `status: "failed"`; the creates throw them as
 * `PaymentDeclined` / `RefundFailed` so that no caller mistakes them for success.
 */
import { type InjectionToken, inject, injectable } from "tsyringe";
import type { Logger } from "../../log.ts";
import { PspError, requireKey } from "../errors.ts";
import { MaybeAlreadyDone, PaymentDeclined, RefundFailed } from "./errors.ts";
import {
  exchange,
  type HyperswitchAnswer,
  type HyperswitchClientOptions,
  type HyperswitchRequest,
} from "./http.ts";
import { minorUnits, paymentBody, refundBody } from "./request-bodies.ts";
import {
  type CancelPaymentParams,
  type CreatePaymentParams,
  type CreateRefundParams,
  type Payment,
  type PaymentList,
  type PaymentListParams,
  PaymentListSchema,
  PaymentSchema,
  type Refund,
  type RefundList,
  type RefundListParams,
  RefundListSchema,
  RefundSchema,
} from "./types.ts";

export type { HyperswitchClientOptions } from "./http.ts";

export const HyperswitchClientOptionsToken: InjectionToken<HyperswitchClientOptions> = Symbol(
  "HyperswitchClientOptions",
);

/** The outcome of a create that may have been done before. */
export interface Adopted<T> {
  value: T;
  /** True when the object was found by our id rather than created by this call. */
  adopted: boolean;
}

type Schema<T> = { safeParse(input: unknown): { success: true; data: T } | { success: false } };

@injectable()
export class HyperswitchClient {
  readonly #options: HyperswitchClientOptions;
  readonly #log: Logger;

  constructor(@inject(HyperswitchClientOptionsToken) options: HyperswitchClientOptions) {
    this.#options = options;
    this.#log = options.logger.child({ psp: "hyperswitch" });
  }

  /** POST /payments with `payment_id` = key. Throws PaymentDeclined on `status: "failed"`. */
  async createPayment(key: string, params: CreatePaymentParams): Promise<Payment> {
    const paymentId = requireKey(key, "HyperswitchClient.createPayment");
    const body = paymentBody(paymentId, params);
    const { value: payment, requestId } = await this.#create(
      { method: "POST", path: "/payments", body, idempotencyKey: paymentId },
      PaymentSchema,
      "payment",
      paymentId,
      ["HE_01"],
    );
    this.#expectId("payment", paymentId, payment.payment_id, requestId);
    if (payment.status === "failed") throw new PaymentDeclined(payment, requestId);
    return payment;
  }

  async getPayment(paymentId: string): Promise<Payment> {
    return (await this.#get(`/payments/${pathId(paymentId, "getPayment")}`, PaymentSchema)).value;
  }

  /** GET /payments/{id}, or null when Hyperswitch has no such payment (404 HE_02). */
  async findPayment(paymentId: string): Promise<Payment | null> {
    return orNull(this.getPayment(paymentId));
  }

  /**
   * POST /payments/{paymentId}/cancel, sent with `Idempotency-Key` = key (the row
   * that records the call). A cancel has no merchant-chosen id: a replay is refused
   * 400 IR_16 ("…because it has status cancelled", a permanent error), so a caller
   * that may be replaying GETs the payment to learn where it stands.
   */
  async cancelPayment(
    key: string,
    paymentId: string,
    params: CancelPaymentParams = {},
  ): Promise<Payment> {
    const idempotencyKey = requireKey(key, "HyperswitchClient.cancelPayment");
    const path = `/payments/${pathId(paymentId, "cancelPayment")}/cancel`;
    const body: Record<string, unknown> = {};
    if (params.cancellationReason !== undefined)
      body.cancellation_reason = params.cancellationReason;
    const answer = await exchange(this.#options, this.#log, {
      method: "POST",
      path,
      body,
      idempotencyKey,
    });
    const payment = validated(PaymentSchema, answer, "payment");
    this.#expectId("payment", paymentId, payment.payment_id, answer.requestId);
    return payment;
  }

  /** POST /refunds with `refund_id` = key. Throws RefundFailed on `status: "failed"`. */
  async createRefund(key: string, params: CreateRefundParams): Promise<Refund> {
    const refundId = requireKey(key, "HyperswitchClient.createRefund");
    const body = refundBody(refundId, params);
    const { value: refund, requestId } = await this.#create(
      { method: "POST", path: "/refunds", body, idempotencyKey: refundId },
      RefundSchema,
      "refund",
      refundId,
      // The IR_13 amount check runs before the duplicate check (psp-facts A2, A3).
      ["HE_01", "IR_13"],
    );
    this.#expectId("refund", refundId, refund.refund_id, requestId);
    if (refund.status === "failed") throw new RefundFailed(refund, requestId);
    return refund;
  }

  async getRefund(refundId: string): Promise<Refund> {
    return (await this.#get(`/refunds/${pathId(refundId, "getRefund")}`, RefundSchema)).value;
  }

  /** GET /refunds/{id}, or null when Hyperswitch has no such refund (404 HE_02). */
  async findRefund(refundId: string): Promise<Refund | null> {
    return orNull(this.getRefund(refundId));
  }

  /**
   * One page of GET /payments/list (query `limit`, `created.gte`, `ending_before`).
   * Paging down is by `ending_before` = the last payment of the page, which the
   * router reads as "created at or before", so the next page repeats it: walk
   * with ./lists.ts, which drops the repeats.
   */
  async listPayments(params: PaymentListParams): Promise<PaymentList> {
    const query = new URLSearchParams({ limit: String(pageLimit(params.limit, "listPayments")) });
    if (params.createdGte) query.set("created.gte", params.createdGte.toISOString());
    if (params.endingBefore !== undefined) {
      query.set("ending_before", nonEmpty(params.endingBefore, "listPayments"));
    }
    return (await this.#get(`/payments/list?${query}`, PaymentListSchema)).value;
  }

  /** One page of POST /refunds/list (body `limit`, `offset`, `start_time`, `end_time`). */
  async listRefunds(params: RefundListParams): Promise<RefundList> {
    if (!Number.isSafeInteger(params.offset) || params.offset < 0) {
      throw new RangeError("HyperswitchClient.listRefunds: offset must be an integer >= 0");
    }
    const body: Record<string, unknown> = {
      limit: pageLimit(params.limit, "listRefunds"),
      offset: params.offset,
    };
    if (params.createdFrom) body.start_time = params.createdFrom.toISOString();
    if (params.createdTo) body.end_time = params.createdTo.toISOString();
    // A read: no idempotency key, and safe to repeat.
    const answer = await exchange(this.#options, this.#log, {
      method: "POST",
      path: "/refunds/list",
      body,
    });
    return validated(RefundListSchema, answer, "/refunds/list");
  }

  /**
   * createPayment, resolving an unknown outcome (MaybeAlreadyDone, timeout, 5xx,
   * dropped connection) by GET /payments/{key}: found → adopted (a found `failed`
   * payment is thrown as PaymentDeclined, like a fresh one); not found → the original
   * unknown error, to retry later with the same key. Retryable and permanent
   * failures are thrown as they are.
   */
  async createPaymentOrAdopt(key: string, params: CreatePaymentParams): Promise<Adopted<Payment>> {
    const amount = minorUnits(params.amount, "amount");
    try {
      return { value: await this.createPayment(key, params), adopted: false };
    } catch (error) {
      if (!isUnknown(error)) throw error;
      const found = await this.#lookUp(error, () =>
        this.#get(`/payments/${pathId(key, "createPaymentOrAdopt")}`, PaymentSchema),
      );
      if (!found) throw error;
      const { value: payment, requestId } = found;
      if (payment.amount !== amount || payment.currency !== params.currency) {
        throw conflict(error, "payment", key, `${payment.amount} ${payment.currency}`);
      }
      this.#log.info(
        { paymentId: key, status: payment.status, after: error.summary() },
        "adopted an existing payment",
      );
      if (payment.status === "failed") throw new PaymentDeclined(payment, requestId);
      return { value: payment, adopted: true };
    }
  }

  /**
   * createRefund, resolving an unknown outcome as createPaymentOrAdopt does. An IR_13
   * whose refund_id is not found was no replay: the amount really exceeds what is
   * left, a permanent failure.
   */
  async createRefundOrAdopt(key: string, params: CreateRefundParams): Promise<Adopted<Refund>> {
    const amount = minorUnits(params.amount, "amount");
    try {
      return { value: await this.createRefund(key, params), adopted: false };
    } catch (error) {
      if (!isUnknown(error)) throw error;
      const found = await this.#lookUp(error, () =>
        this.#get(`/refunds/${pathId(key, "createRefundOrAdopt")}`, RefundSchema),
      );
      if (!found) {
        if (error instanceof MaybeAlreadyDone && error.code === "IR_13") throw permanent(error);
        throw error;
      }
      const { value: refund, requestId } = found;
      if (refund.payment_id !== params.paymentId || refund.amount !== amount) {
        throw conflict(error, "refund", key, `${refund.amount} of ${refund.payment_id}`);
      }
      this.#log.info(
        { refundId: key, status: refund.status, after: error.summary() },
        "adopted an existing refund",
      );
      if (refund.status === "failed") throw new RefundFailed(refund, requestId);
      return { value: refund, adopted: true };
    }
  }

  async #create<T>(
    request: HyperswitchRequest,
    schema: Schema<T>,
    object: "payment" | "refund",
    id: string,
    replayCodes: string[],
  ): Promise<{ value: T; requestId: string | null }> {
    try {
      const answer = await exchange(this.#options, this.#log, request);
      return {
        value: validated(schema, answer, object),
        requestId: answer.requestId,
      };
    } catch (error) {
      if (
        error instanceof PspError &&
        error.httpStatus === 400 &&
        error.code &&
        replayCodes.includes(error.code)
      ) {
        throw new MaybeAlreadyDone(object, id, error);
      }
      throw error;
    }
  }

  async #get<T>(path: string, schema: Schema<T>): Promise<{ value: T; requestId: string | null }> {
    const answer = await exchange(this.#options, this.#log, { method: "GET", path });
    return {
      value: validated(schema, answer, path),
      requestId: answer.requestId,
    };
  }

  /**
   * After an unknown outcome: the object found by our id, or null. A failed lookup
   * leaves the outcome unknown, so the create's own error stands.
   */
  async #lookUp<T>(
    after: PspError,
    lookup: () => Promise<{ value: T; requestId: string | null }>,
  ): Promise<{ value: T; requestId: string | null } | null> {
    try {
      return await orNull(lookup());
    } catch (lookupError) {
      this.#log.warn(
        { err: lookupError, after: after.summary() },
        "lookup after an unknown outcome failed",
      );
      throw after;
    }
  }

  #expectId(object: string, ours: string, theirs: string, requestId: string | null): void {
    if (ours === theirs) return;
    throw new PspError({
      provider: "hyperswitch",
      kind: "unknown",
      code: null,
      message: `asked for ${object} ${ours}, answered with ${theirs}`,
      httpStatus: 200,
      requestId,
    });
  }
}

/** Hyperswitch does not compare bodies on a replay (A3): we do, and a mismatch is a bug to stop on. */
function conflict(cause: PspError, object: string, id: string, found: string): PspError {
  return new PspError({
    provider: "hyperswitch",
    kind: "permanent",
    code: cause.code,
    message: `${object} ${id} already exists with different terms (${found}); not adopted`,
    httpStatus: cause.httpStatus,
    requestId: cause.requestId,
    cause,
  });
}

/** An outcome the OrAdopt methods resolve by a lookup; everything else is final for this call. */
function isUnknown(error: unknown): error is PspError {
  return error instanceof PspError && error.kind === "unknown";
}

function validated<T>(schema: Schema<T>, answer: HyperswitchAnswer, what: string): T {
  const parsed = schema.safeParse(answer.json);
  if (parsed.success) return parsed.data;
  // The call succeeded but we cannot read what it did: unknown, look it up.
  throw new PspError({
    provider: "hyperswitch",
    kind: "unknown",
    code: null,
    message: `a 2xx answer we cannot read (${what})`,
    httpStatus: answer.status,
    requestId: answer.requestId,
  });
}

/** 404 HE_02 ("does not exist in our records") as null; other failures propagate. */
async function orNull<T>(promise: Promise<T>): Promise<T | null> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof PspError && error.httpStatus === 404 && error.code === "HE_02")
      return null;
    throw error;
  }
}

function permanent(error: PspError): PspError {
  return new PspError({
    provider: "hyperswitch",
    kind: "permanent",
    code: error.code,
    message: error.message,
    httpStatus: error.httpStatus,
    requestId: error.requestId,
    cause: error,
  });
}

/** Both lists take 1 to 100 per page; anything else the router rejects (422 IR_06). */
function pageLimit(limit: number, what: string): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new RangeError(`HyperswitchClient.${what}: limit must be an integer from 1 to 100`);
  }
  return limit;
}

function nonEmpty(id: string, what: string): string {
  if (typeof id !== "string" || id.trim() === "") {
    throw new TypeError(`HyperswitchClient.${what}: an id is required (got ${JSON.stringify(id)})`);
  }
  return id;
}

/** Ids go into the path: an empty one would GET the collection, a slash another resource. */
function pathId(id: string, what: string): string {
  if (typeof id !== "string" || id.trim() === "") {
    throw new TypeError(`HyperswitchClient.${what}: an id is required (got ${JSON.stringify(id)})`);
  }
  return encodeURIComponent(id);
}
