/**
 * What a Hyperswitch payment outcome does to a subscription invoice (SPEC §5),
 * shared by the webhook task and the charge job (a charge answered at once). The
 * rules are SQL (settle_private.apply_invoice_payment_*, 000030): paid → invoice
 * paid and subscription active/renewed in this transaction; failed → invoice
 * failed with its dunning retry scheduled, or uncollectible and the subscription
 * ended once DUNNING_RETRY_SCHEDULE is used up.
 *
 * payment_id of an invoice's attempt: the invoice id, `<invoice id>_<k>` for retry k.
 */
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../../db/slonik.ts";
import type { PaymentWebhook } from "../../psp/hyperswitch/webhooks.ts";

type WebhookPayment = PaymentWebhook["content"]["object"];

import type { TaskDeps } from "../deps.ts";

const Outcome = z.object({ outcome: z.string() });
const Known = z.object({ known: z.boolean() });

/** What deciding a failure needs: the time (tests move it) and the dunning schedule. */
export interface Dunning {
  now: () => number;
  scheduleMs: readonly number[];
}

export function dunningOf(deps: Pick<TaskDeps, "config" | "now">): Dunning {
  return { now: deps.now ?? Date.now, scheduleMs: deps.config.dunningRetryScheduleMs };
}

export async function invoicePaid(
  tx: DatabaseTransactionConnection,
  paymentId: string,
): Promise<string> {
  return tx.oneFirst(sql.type(Outcome)`
    select settle_private.apply_invoice_payment_succeeded(${paymentId}) as outcome`);
}

export async function invoiceFailed(
  tx: DatabaseTransactionConnection,
  paymentId: string,
  error: string,
  dunning: Dunning,
): Promise<string> {
  const schedule = dunning.scheduleMs.map((ms) => `${ms} milliseconds`).join(",");
  return tx.oneFirst(sql.type(Outcome)`
    select settle_private.apply_invoice_payment_failed(${paymentId}, ${error},
      to_timestamp(${dunning.now() / 1000}), string_to_array(${schedule}, ',')::interval[]) as outcome`);
}

/**
 * The event's effect when its payment is an invoice's; null when it is not (the
 * caller goes on with orders).
 */
export async function applyInvoicePaymentEvent(
  tx: DatabaseTransactionConnection,
  eventType: string,
  payment: WebhookPayment,
  dunning: Dunning,
): Promise<{ outcome: string; note?: string } | null> {
  const known = await tx.oneFirst(sql.type(Known)`
    select exists (
      select 1 from settle_private.invoice_attempt_of(${payment.payment_id}) a
      join settle.subscription_invoices i on i.id = a.invoice_id) as known`);
  if (!known) return null;
  const what = `invoice payment ${payment.payment_id}`;
  let outcome: string;
  switch (eventType) {
    case "payment_succeeded":
      outcome = await invoicePaid(tx, payment.payment_id);
      break;
    case "payment_failed":
      outcome = await invoiceFailed(
        tx,
        payment.payment_id,
        `${payment.error_code ?? "failed"}: ${payment.error_message ?? "payment failed"}`,
        dunning,
      );
      break;
    default:
      return { outcome: "ignored", note: `${eventType} changes nothing on ${what}` };
  }
  return outcome === "conflict"
    ? { outcome, note: `${what} ${eventType}, which contradicts the invoice here` }
    : { outcome };
}
