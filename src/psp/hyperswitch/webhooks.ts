/**
 * Incoming Hyperswitch webhooks (psp-facts A4, SPEC §5 "Webhooks in"): the
 * signature check on the raw body, then the payload parsed into typed events.
 * Verify first: nothing of an unsigned body is trusted, not even its JSON.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { PaymentSchema, RefundSchema } from "./types.ts";

export const SIGNATURE_HEADER = "x-webhook-signature-512";

/** HMAC-SHA512 is 64 bytes: 128 hex digits. Anything else is malformed. */
const HEX_SIGNATURE = /^[0-9a-fA-F]{128}$/;

/**
 * True when `headerValue` is the hex HMAC-SHA512 of exactly `rawBody` keyed by
 * `secret` (Hyperswitch sends lowercase; case does not change the bytes). False for
 * a missing, repeated or malformed header. The comparison is constant-time.
 */
export function verifyWebhookSignature(
  rawBody: string | Uint8Array,
  headerValue: string | string[] | null | undefined,
  secret: string,
): boolean {
  if (!secret) throw new TypeError("verifyWebhookSignature: the webhook secret is empty");
  if (typeof headerValue !== "string") return false;
  const candidate = headerValue.trim();
  if (!HEX_SIGNATURE.test(candidate)) return false;
  const expected = createHmac("sha512", secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(candidate, "hex"));
}

export const PAYMENT_EVENT_TYPES = [
  "payment_succeeded",
  "payment_failed",
  "payment_processing",
  "payment_cancelled",
  "payment_cancelled_post_capture",
  "payment_authorized",
  "payment_partially_authorized",
  "payment_captured",
  "payment_expired",
  "action_required",
] as const;
/** There is no refund_pending event (A4). */
export const REFUND_EVENT_TYPES = ["refund_succeeded", "refund_failed"] as const;

/** Staleness checks compare these, so a webhook object without one is not accepted. */
const WebhookPayment = PaymentSchema.extend({ updated: z.string().min(1) });
const WebhookRefund = RefundSchema.extend({ updated_at: z.string().min(1) });

const envelope = {
  merchant_id: z.string(),
  /** Stable across redeliveries: the dedupe key of `webhook_events`. */
  event_id: z.string().min(1),
  timestamp: z.string(),
};

export const PaymentWebhookSchema = z.looseObject({
  ...envelope,
  event_type: z.enum(PAYMENT_EVENT_TYPES),
  content: z.object({ type: z.literal("payment_details"), object: WebhookPayment }),
});
export const RefundWebhookSchema = z.looseObject({
  ...envelope,
  event_type: z.enum(REFUND_EVENT_TYPES),
  content: z.object({ type: z.literal("refund_details"), object: WebhookRefund }),
});
export const WebhookEventSchema = z.union([PaymentWebhookSchema, RefundWebhookSchema]);
export type PaymentWebhook = z.infer<typeof PaymentWebhookSchema>;
export type RefundWebhook = z.infer<typeof RefundWebhookSchema>;
export type HyperswitchWebhook = z.infer<typeof WebhookEventSchema>;

export class WebhookPayloadError extends Error {
  override name = "WebhookPayloadError";
}

/**
 * The event of a verified body. Throws WebhookPayloadError for a body that is not
 * JSON or not a payment/refund event (disputes, mandates, payouts are not ours: a
 * receiver acknowledges and ignores them rather than having them redelivered).
 */
export function parseWebhookEvent(rawBody: string | Uint8Array): HyperswitchWebhook {
  const text = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new WebhookPayloadError(`webhook body is not JSON: ${(error as Error).message}`);
  }
  const parsed = WebhookEventSchema.safeParse(json);
  if (!parsed.success) {
    throw new WebhookPayloadError(
      `not a payment or refund event: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
