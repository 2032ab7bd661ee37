/**
 * The fake's payments and refunds, in Hyperswitch's wire shape (PaymentsResponse,
 * RefundResponse; psp-facts A1, A2), plus the clock and ids they are stamped with.
 */
import { randomBytes } from "node:crypto";

export interface WirePayment {
  payment_id: string;
  merchant_id: string;
  status: string;
  amount: number;
  net_amount: number;
  amount_capturable: number;
  amount_received: number | null;
  currency: string;
  customer_id: string | null;
  description: string | null;
  client_secret: string;
  connector: string | null;
  connector_transaction_id: string | null;
  capture_method: string;
  payment_method: string | null;
  payment_method_type: string | null;
  /** Masked: the card number itself is never echoed. */
  payment_method_data: { card: { last4: string }; billing: null } | null;
  next_action: { type: "redirect_to_url"; redirect_to_url: string } | null;
  error_code: string | null;
  error_message: string | null;
  unified_code: string | null;
  unified_message: string | null;
  metadata: Record<string, unknown> | null;
  return_url: string | null;
  authentication_type: string;
  merchant_order_reference_id: string | null;
  attempt_count: number;
  profile_id: string;
  manual_retry_allowed: boolean | null;
  /** Set by POST /payments/{id}/cancel. */
  cancellation_reason: string | null;
  refunds: null;
  created: string;
  updated: string;
}

export interface WireRefund {
  refund_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  status: "pending" | "succeeded" | "failed" | "review";
  reason: string | null;
  metadata: Record<string, unknown> | null;
  error_code: string | null;
  error_message: string | null;
  unified_code: string | null;
  unified_message: string | null;
  created_at: string;
  updated_at: string;
  connector: string;
  profile_id: string;
  merchant_connector_id: string | null;
}

/** The connector name the fake reports; the real router names the PSP it routed to. */
export const FAKE_CONNECTOR = "fauxpay";

/**
 * Timestamps strictly increasing across the fake, so that two versions of an object
 * written within one millisecond still order by `updated` / `updated_at`, as the
 * staleness checks of webhook receivers require.
 */
export function monotonicClock(): () => string {
  let last = 0;
  return () => {
    last = Math.max(Date.now(), last + 1);
    return new Date(last).toISOString();
  };
}

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Hyperswitch's generated ids: a prefix and 20 alphanumerics (`pay_…`, `ref_…`). */
export function generatedId(prefix: string, length = 20): string {
  const bytes = randomBytes(length);
  let id = "";
  for (const byte of bytes) id += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return `${prefix}_${id}`;
}
