/**
 * The two list endpoints of the v1 router, with its paging as it really is
 * (juspay/hyperswitch, api_models `PaymentListConstraints` / `RefundListRequest`,
 * storage `filter_payment_intent_by_constraints` / refund `filter_by_constraints`):
 *
 * GET /payments/list (query string, `deny_unknown_fields`): newest `created` first;
 * `limit` 1–100 (default 10). The lower bound is `created.gte`, else `created.gt`,
 * else `created`, and it is inclusive whichever names it (the router maps all three
 * to `created_at >= t`); the upper bound likewise from `created.lte|lt|created`.
 * `starting_after` / `ending_before` (payment ids) only apply when no bound of
 * their side is given, and they too are inclusive: `created_at >=` / `<=` that
 * payment's. There is no offset. Answer: `{size, data}`.
 *
 * POST /refunds/list (JSON body): newest `updated_at` (the router's `modified_at`)
 * first; `limit` 1–100 (default 10) and `offset`; `start_time` / `end_time` bound
 * `created_at` inclusively; `payment_id` (which turns paging off, as the router
 * does), `refund_id`, `currency[]`, `refund_status[]` filter. Answer:
 * `{count, total_count, data}`, total_count counting every match.
 */
import { z } from "zod";
import { HsError, hsErrors } from "./errors.ts";
import type { WirePayment, WireRefund } from "./objects.ts";
import type { FakeState } from "./state.ts";

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 10;

const PAYMENT_LIST_PARAMS = new Set([
  "customer_id",
  "starting_after",
  "ending_before",
  "limit",
  "created",
  "created.lt",
  "created.gt",
  "created.lte",
  "created.gte",
]);

/** GET /payments/list: the query is parsed before the caller is authenticated, as actix does. */
export function parsePaymentListQuery(query: URLSearchParams): PaymentListQuery {
  for (const key of query.keys()) {
    // ❓ The router's answer to a bad query string was not traced; the JSON parser's shape is used.
    if (!PAYMENT_LIST_PARAMS.has(key)) throw hsErrors.deserialize(`unknown field \`${key}\``);
  }
  const time = (key: string) => {
    const value = query.get(key);
    return value === null ? null : instant(value, key);
  };
  const limitText = query.get("limit");
  let limit = DEFAULT_LIMIT;
  if (limitText !== null) {
    if (!/^\d+$/.test(limitText)) throw hsErrors.deserialize(`invalid digit found in \`limit\``);
    limit = Number(limitText);
  }
  return {
    customerId: query.get("customer_id"),
    startingAfter: query.get("starting_after"),
    endingBefore: query.get("ending_before"),
    limit,
    startingAt: time("created.gte") ?? time("created.gt") ?? time("created"),
    endingAt: time("created.lte") ?? time("created.lt") ?? time("created"),
  };
}

export interface PaymentListQuery {
  customerId: string | null;
  startingAfter: string | null;
  endingBefore: string | null;
  limit: number;
  startingAt: number | null;
  endingAt: number | null;
}

export function listPayments(
  state: FakeState,
  q: PaymentListQuery,
): { size: number; data: WirePayment[] } {
  if (q.limit < 1 || q.limit > MAX_LIMIT) throw limitError();
  const createdOf = (paymentId: string) => {
    const payment = state.payments.get(paymentId);
    if (!payment) throw hsErrors.paymentNotFound();
    return Date.parse(payment.created);
  };
  const from = q.startingAt ?? (q.startingAfter === null ? null : createdOf(q.startingAfter));
  const to = q.endingAt ?? (q.endingBefore === null ? null : createdOf(q.endingBefore));
  const data = newestFirst([...state.payments.values()], (p) => p.created)
    .filter((p) => q.customerId === null || p.customer_id === q.customerId)
    .filter((p) => from === null || Date.parse(p.created) >= from)
    .filter((p) => to === null || Date.parse(p.created) <= to)
    .slice(0, q.limit);
  return { size: data.length, data };
}

const TextList = z.array(z.string()).nullish();

/** RefundListRequest: no `deny_unknown_fields` (its time range is flattened in), so unknown keys pass. */
const RefundListRequestSchema = z.looseObject({
  payment_id: z.string().nullish(),
  refund_id: z.string().nullish(),
  profile_id: z.string().nullish(),
  limit: z.number().int().nullish(),
  offset: z.number().int().nullish(),
  start_time: z.string().nullish(),
  end_time: z.string().nullish(),
  amount_filter: z.unknown().optional(),
  connector: TextList,
  merchant_connector_id: TextList,
  currency: TextList,
  refund_status: z.array(z.enum(["succeeded", "failed", "pending", "review"])).nullish(),
});

export type RefundListRequest = z.infer<typeof RefundListRequestSchema>;

export function listRefunds(
  state: FakeState,
  req: RefundListRequest,
): { count: number; total_count: number; data: WireRefund[] } {
  const limit = req.limit ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) throw limitError();
  const offset = Math.max(0, req.offset ?? 0);
  const start = req.start_time ? instant(req.start_time, "start_time") : null;
  const end = req.end_time ? instant(req.end_time, "end_time") : null;
  const matching = newestFirst([...state.refunds.values()], (r) => r.updated_at)
    .filter((r) => !req.payment_id || r.payment_id === req.payment_id)
    .filter((r) => !req.refund_id || r.refund_id === req.refund_id)
    .filter((r) => !req.profile_id || r.profile_id === req.profile_id)
    .filter((r) => start === null || Date.parse(r.created_at) >= start)
    .filter((r) => end === null || Date.parse(r.created_at) <= end)
    .filter((r) => !req.currency || req.currency.includes(r.currency))
    .filter((r) => !req.refund_status || req.refund_status.includes(r.status));
  // With a payment_id the router applies neither limit nor offset.
  const data = req.payment_id ? matching : matching.slice(offset, offset + limit);
  return { count: data.length, total_count: matching.length, data };
}

/** POST /refunds/list: the body is parsed before the caller is authenticated, as actix does. */
export function parseRefundListRequest(rawBody: string): RefundListRequest {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw hsErrors.deserialize((error as Error).message);
  }
  const parsed = RefundListRequestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw hsErrors.deserialize(
    `invalid value at \`${issue?.path.join(".") ?? ""}\`: ${issue?.message ?? "invalid body"}`,
  );
}

/** Both lists cap the page at 100 with this InvalidRequestData (422 IR_06). */
function limitError(): HsError {
  return new HsError(422, "IR_06", `limit should be in between 1 and ${MAX_LIMIT}`);
}

/** An ISO-8601 instant as the router's `iso8601` serde reads it, in ms. */
function instant(value: string, field: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw hsErrors.deserialize(`invalid ISO-8601 date-time in \`${field}\``);
  return ms;
}

/** Newest first; the fake's clock is strictly increasing, so there are no ties to break. */
function newestFirst<T>(items: T[], at: (item: T) => string): T[] {
  return items.sort((a, b) => Date.parse(at(b)) - Date.parse(at(a)));
}
