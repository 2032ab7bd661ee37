/**
 * Hyperswitch v1 objects as we read them off the wire (reference/psp-facts.md A1,
 * A2), validated with zod. Response schemas are loose: Hyperswitch adds fields
 * between releases and an unknown field must not break a payment. Statuses are
 * closed enums on purpose: a status we cannot interpret is an error, never a guess.
 */
import { z } from "zod";

/** IntentStatus, snake_case (common_enums). */
export const PAYMENT_STATUSES = [
  "succeeded",
  "failed",
  "cancelled",
  "cancelled_post_capture",
  "processing",
  "requires_customer_action",
  "requires_merchant_action",
  "requires_payment_method",
  "requires_confirmation",
  "requires_capture",
  "partially_captured",
  "partially_captured_and_capturable",
  "partially_authorized_and_requires_capture",
  "conflicted",
  "expired",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** RefundStatus as the API spells it. There is no `processing`: `pending` covers it. */
export const REFUND_STATUSES = ["succeeded", "failed", "pending", "review"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

const minorUnits = z.number().int();
const text = z.string().nullish();

export const PaymentSchema = z.looseObject({
  payment_id: z.string().min(1),
  merchant_id: text,
  status: z.enum(PAYMENT_STATUSES),
  amount: minorUnits,
  net_amount: minorUnits.nullish(),
  amount_capturable: minorUnits.nullish(),
  amount_received: minorUnits.nullish(),
  currency: z.string(),
  customer_id: text,
  description: text,
  /** What the buyer's browser needs to complete the payment (SPEC §5 confirm). */
  client_secret: text,
  connector: text,
  connector_transaction_id: text,
  capture_method: text,
  payment_method: text,
  next_action: z.unknown().optional(),
  error_code: text,
  error_message: text,
  unified_code: text,
  unified_message: text,
  metadata: z.record(z.string(), z.unknown()).nullish(),
  return_url: text,
  attempt_count: z.number().int().nullish(),
  profile_id: text,
  created: text,
  /** ISO-8601; the order of a payment's versions (webhooks arrive out of order). */
  updated: text,
});
export type Payment = z.infer<typeof PaymentSchema>;

export const RefundSchema = z.looseObject({
  refund_id: z.string().min(1),
  payment_id: z.string().min(1),
  amount: minorUnits,
  currency: z.string(),
  status: z.enum(REFUND_STATUSES),
  reason: text,
  metadata: z.record(z.string(), z.unknown()).nullish(),
  error_code: text,
  error_message: text,
  unified_code: text,
  unified_message: text,
  connector: text,
  profile_id: text,
  created_at: text,
  /** ISO-8601; the order of a refund's versions (webhooks arrive out of order). */
  updated_at: text,
});
export type Refund = z.infer<typeof RefundSchema>;

/** GET /payments/list answers `{size, data}`: newest first, no total and no offset. */
export const PaymentListSchema = z.looseObject({
  size: z.number().int().nonnegative(),
  data: z.array(PaymentSchema),
});
export type PaymentList = z.infer<typeof PaymentListSchema>;

/** POST /refunds/list answers `{count, total_count, data}`; total_count counts every match. */
export const RefundListSchema = z.looseObject({
  count: z.number().int().nonnegative(),
  total_count: z.number().int().nonnegative(),
  data: z.array(RefundSchema),
});
export type RefundList = z.infer<typeof RefundListSchema>;

/** One page of GET /payments/list, newest `created` first. */
export interface PaymentListParams {
  /** 1–100. (Hyperswitch's default: 10) */
  limit: number;
  /** Sent as `created.gte`; the router then ignores `starting_after`. */
  createdGte?: Date;
  /** Payments created at or before this one's creation (inclusive): the way to page down. */
  endingBefore?: string;
}

/** One page of POST /refunds/list, newest `updated_at` first. */
export interface RefundListParams {
  /** 1–100. (Hyperswitch's default: 10) */
  limit: number;
  offset: number;
  /** `start_time`: refunds created at or after. */
  createdFrom?: Date;
  /** `end_time`: refunds created at or before. */
  createdTo?: Date;
}

/**
 * `{"error":{…}}`. Normal errors carry `type`; the JSON-parser errors (IR_06 for an
 * unknown field or malformed body) carry `error_type` instead (A1 ⚠).
 */
export const ErrorBodySchema = z.object({
  error: z.looseObject({
    type: z.string().optional(),
    error_type: z.string().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    reason: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Integer minor units; a bigint (as from an int8 column) is accepted when it fits. */
export type MinorUnits = number | bigint;
export type Metadata = Record<string, string | number | boolean | null>;

export interface CardData {
  cardNumber: string;
  cardExpMonth: string;
  cardExpYear: string;
  cardCvc: string;
  cardHolderName?: string;
}

export interface CreatePaymentParams {
  amount: MinorUnits;
  /** ISO-4217, upper case. */
  currency: string;
  customerId?: string;
  description?: string;
  /** Authorise now; needs `paymentMethodData`. (Default: false, the buyer confirms later) */
  confirm?: boolean;
  captureMethod?: "automatic" | "manual";
  /** (Default: "card" when `paymentMethodData.card` is given) */
  paymentMethod?: string;
  paymentMethodType?: string;
  paymentMethodData?: { card: CardData };
  returnUrl?: string;
  authenticationType?: "three_ds" | "no_three_ds";
  metadata?: Metadata;
  merchantOrderReferenceId?: string;
}

/** PaymentsCancelRequest: the payment is named by the path. */
export interface CancelPaymentParams {
  /** Free text kept on the payment attempt, e.g. "requested_by_customer". */
  cancellationReason?: string;
}

export interface CreateRefundParams {
  paymentId: string;
  /** Required although Hyperswitch defaults to the full captured amount: we always say how much. */
  amount: MinorUnits;
  reason?: string;
  metadata?: Metadata;
}
