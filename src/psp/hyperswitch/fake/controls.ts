/**
 * Control calls under /__fake/ that no real Hyperswitch has: they play the parts
 * outside our API calls (the buyer finishing checkout, the connector settling a
 * refund) and steer webhook delivery. Bodies are validated; a bad one is a 400
 * from the shell with the reason.
 *
 *   POST /__fake/payments/outcome   {payment_id, status: succeeded|failed, error_code?, error_message?}
 *   POST /__fake/refunds/outcome    {refund_id, status: succeeded|failed, error_code?, error_message?}
 *   POST /__fake/refunds/settlement {mode?: manual|after_delay|immediate, outcome?, delayMs?}
 *   POST /__fake/webhooks           {url?, delayMs?, duplicates?, reorder?, maxAttempts?, retryDelayMs?,
 *                                    duplicateRate?, jitterMs?}
 *                                   (no body: read the behaviour and the deliveries)
 *   POST /__fake/webhooks/flush     send the events held for reordering, newest first
 *   POST /__fake/webhooks/drain     wait until every queued delivery is done
 *   GET  /__fake/events             the events emitted, with their exact bodies
 *   GET  /__fake/state              every payment and refund
 */
import { z } from "zod";
import type { Delivery, WebhookBehaviour } from "../../fake/webhooks.ts";
import type { EmittedEvent } from "./events.ts";
import type { WirePayment, WireRefund } from "./objects.ts";
import type { PaymentOutcome } from "./payments.ts";
import type { RefundOutcome, RefundSettlement } from "./refunds.ts";

export interface ControlTarget {
  settlePayment(paymentId: string, outcome: PaymentOutcome): WirePayment;
  settleRefund(refundId: string, outcome: RefundOutcome): WireRefund;
  configureRefunds(patch: Partial<RefundSettlement>): RefundSettlement;
  configureWebhooks(patch: Partial<WebhookBehaviour>): WebhookBehaviour;
  flushWebhooks(): void;
  drainWebhooks(): Promise<void>;
  deliveries(): Delivery[];
  events(): EmittedEvent[];
  payments(): WirePayment[];
  refunds(): WireRefund[];
}

const outcome = {
  status: z.enum(["succeeded", "failed"]),
  error_code: z.string().min(1).optional(),
  error_message: z.string().min(1).optional(),
};
const PaymentOutcomeBody = z.strictObject({ payment_id: z.string().min(1), ...outcome });
const RefundOutcomeBody = z.strictObject({ refund_id: z.string().min(1), ...outcome });
const SettlementBody = z.strictObject({
  mode: z.enum(["manual", "after_delay", "immediate"]).optional(),
  outcome: z.enum(["succeeded", "failed"]).optional(),
  delayMs: z.number().int().min(0).max(600_000).optional(),
});
const WebhooksBody = z
  .strictObject({
    url: z.url().nullable().optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    duplicates: z.number().int().min(0).max(10).optional(),
    reorder: z.boolean().optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    retryDelayMs: z.number().int().min(0).max(600_000).optional(),
    duplicateRate: z.number().min(0).max(1).optional(),
    jitterMs: z.number().int().min(0).max(600_000).optional(),
  })
  .optional();

export function createControls(
  fake: ControlTarget,
): Record<string, (body: unknown) => unknown | Promise<unknown>> {
  return {
    "payments/outcome": (body) => {
      const { payment_id, status, error_code, error_message } = PaymentOutcomeBody.parse(body);
      return fake.settlePayment(payment_id, {
        status,
        errorCode: error_code,
        errorMessage: error_message,
      });
    },
    "refunds/outcome": (body) => {
      const { refund_id, status, error_code, error_message } = RefundOutcomeBody.parse(body);
      return fake.settleRefund(refund_id, {
        status,
        errorCode: error_code,
        errorMessage: error_message,
      });
    },
    "refunds/settlement": (body) =>
      fake.configureRefunds(withoutUndefined(SettlementBody.parse(body ?? {}))),
    webhooks: (body) => ({
      behaviour: fake.configureWebhooks(withoutUndefined(WebhooksBody.parse(body) ?? {})),
      deliveries: fake.deliveries(),
    }),
    "webhooks/flush": () => {
      fake.flushWebhooks();
      return { ok: true };
    },
    "webhooks/drain": async () => {
      await fake.drainWebhooks();
      return { deliveries: fake.deliveries() };
    },
    events: () => ({ events: fake.events() }),
    state: () => ({ payments: fake.payments(), refunds: fake.refunds() }),
  };
}

/** A patch must not reset what it does not name. */
function withoutUndefined<T extends object>(
  patch: T,
): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;
}
