/** The Hyperswitch client's public surface; the fake lives in ./fake/ and is imported on its own. */
export {
  type Adopted,
  HyperswitchClient,
  type HyperswitchClientOptions,
  HyperswitchClientOptionsToken,
} from "./client.ts";
export { MaybeAlreadyDone, PaymentDeclined, RefundFailed } from "./errors.ts";
export { MAX_PAGE, paymentsSince, refundsSince, type WalkOptions } from "./lists.ts";
export type {
  CardData,
  CreatePaymentParams,
  CreateRefundParams,
  Metadata,
  MinorUnits,
  Payment,
  PaymentList,
  PaymentListParams,
  PaymentStatus,
  Refund,
  RefundList,
  RefundListParams,
  RefundStatus,
} from "./types.ts";
export {
  type HyperswitchWebhook,
  type PaymentWebhook,
  parseWebhookEvent,
  type RefundWebhook,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
  WebhookPayloadError,
} from "./webhooks.ts";
