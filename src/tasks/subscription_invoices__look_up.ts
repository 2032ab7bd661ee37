/**
 * subscription_invoices__look_up: a subscription charge Hyperswitch accepted but
 * no webhook has settled by its look-up time (000035: look_up_at, enqueued by the
 * invoice's trigger, re-driven by the sweeper). GET /payments/{payment_id} of the
 * invoice's last attempt, and what it says is applied by the webhook path's own
 * rules (./webhooks/invoice-payments.ts), so the subscription moves on exactly as
 * if the webhook had come:
 *   succeeded                   -> invoice paid, subscription active/renewed
 *   failed, cancelled, expired  -> invoice failed, dunning retry (or uncollectible)
 *   still open (processing …)   -> looked up again INVOICE_PAYMENT_LOOKUP_AFTER later
 *   not found                   -> the same, with last_error saying so (the attempt
 *                                  was accepted, so Hyperswitch should have it)
 * A GET changes nothing at the PSP, so a PSP error simply fails the job, which
 * graphile-worker retries. A webhook that lands meanwhile wins: applying the same
 * outcome again is a duplicate, and a later attempt makes this one stale.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAs } from "../flows/database-context.ts";
import type { Payment } from "../psp/hyperswitch/types.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { dunningOf, invoiceFailed, invoicePaid } from "./webhooks/invoice-payments.ts";

export const TASK = "subscription_invoices__look_up";

const Awaiting = z.object({
  attempt_count: z.number(),
  look_up_at: z.number().nullable(),
  payment_id: z.string(),
});

/** Final at Hyperswitch without the money: no later event can make them succeed. */
const GIVEN_UP = new Set<Payment["status"]>(["failed", "cancelled", "expired"]);

export function makeLookUpInvoicePayment(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const dunning = dunningOf(deps);
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    const invoice = await deps.db.maybeOne(sql.type(Awaiting)`
      select attempt_count, look_up_at,
             settle_private.invoice_payment_id(id, attempt_count - 1) as payment_id
      from settle.subscription_invoices
      where id = ${id} and status = 'pending' and attempt_count > 0`);
    if (!invoice) return; // settled meanwhile (a webhook, a cancel), or not sent yet
    // Moved later since this job was queued (a job run early, or a newer look-up).
    if (invoice.look_up_at !== null && invoice.look_up_at > dunning.now() + 1_000) return;

    const payment = await deps.hyperswitch.findPayment(invoice.payment_id);
    await deps.db.transaction(async (tx) => {
      await actAs(tx, TASK);
      let outcome: string;
      if (payment?.status === "succeeded") {
        outcome = await invoicePaid(tx, invoice.payment_id);
      } else if (payment && GIVEN_UP.has(payment.status)) {
        const error = `${payment.error_code ?? payment.status}: ${payment.error_message ?? `payment ${payment.status}`}`;
        outcome = await invoiceFailed(tx, invoice.payment_id, error, dunning);
      } else {
        const note = payment
          ? null
          : `payment ${invoice.payment_id} not found at Hyperswitch, though it accepted the charge`;
        await tx.query(sql.type(z.object({ id: z.string() }))`
          update settle.subscription_invoices
          set look_up_at = to_timestamp(${(dunning.now() + deps.config.invoicePaymentLookupAfterMs) / 1000}),
              last_error = coalesce(${note}, last_error)
          where id = ${id} and status = 'pending' and attempt_count = ${invoice.attempt_count}
          returning id`);
        outcome = payment ? `still ${payment.status}` : "not found";
      }
      const level = outcome === "conflict" || outcome === "not found" ? "warn" : "info";
      log[level](
        { invoiceId: id, paymentId: invoice.payment_id, status: payment?.status ?? null, outcome },
        "invoice payment looked up: no webhook had settled it",
      );
    });
  };
}
