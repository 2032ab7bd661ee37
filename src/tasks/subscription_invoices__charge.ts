/**
 * subscription_invoices__charge: one charge attempt of a subscription invoice at
 * Hyperswitch (SPEC §5), enqueued by the invoice's row trigger: when it is
 * created (first period, or a renewal) and when a dunning retry falls due
 * (run_at = next_attempt_at). payment_id = the invoice id (`<id>_<k>` for retry k,
 * settle_private.invoice_payment_id), sent as the Idempotency-Key too.
 *
 * The subscription and invoice rows are held for the call, so a webhook or a
 * cancel waits for the attempt to be recorded. Paths:
 *   accepted, open      -> attempt recorded; the outcome comes by webhook, or by
 *                          the look-up job (subscription_invoices__look_up) at
 *                          INVOICE_PAYMENT_LOOKUP_AFTER if no webhook came
 *   succeeded at once   -> invoice paid, subscription active/renewed (same transaction)
 *   declined/permanent  -> invoice failed, dunning retry scheduled (or uncollectible)
 *   retryable/unknown   -> nothing recorded; the job fails and graphile-worker
 *                          retries it with the same payment_id, so a payment that
 *                          did reach Hyperswitch is adopted, never doubled
 * The charge is `confirm: true` with the buyer as customer: Hyperswitch charges
 * the customer's saved payment method.
 */
import type { Task } from "graphile-worker";
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAs, NO_SILENT_RERUN } from "../flows/database-context.ts";
import { PspError } from "../psp/errors.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { dunningOf, invoiceFailed, invoicePaid } from "./webhooks/invoice-payments.ts";

export const TASK = "subscription_invoices__charge";

const Invoice = z.object({
  id: z.string(),
  subscription_id: z.string(),
  buyer_id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  attempt_count: z.number(),
  next_attempt_at: z.number().nullable(),
  due: z.boolean(),
  payment_id: z.string(),
});

export function makeChargeInvoice(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const dunning = dunningOf(deps);
  const lookUpAt = () => dunning.now() + deps.config.invoicePaymentLookupAfterMs;
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    try {
      await deps.db.transaction(async (tx) => {
        await actAs(tx, TASK);
        const invoice = await lockDue(tx, id);
        if (!invoice?.due) return;
        // A retry job that runs early (a clock ahead of ours) finds nothing due.
        if (invoice.next_attempt_at !== null && invoice.next_attempt_at > dunning.now() + 1_000)
          return;
        const attempt = invoice.attempt_count;
        try {
          const { value: payment, adopted } = await deps.hyperswitch.createPaymentOrAdopt(
            invoice.payment_id,
            {
              amount: invoice.amount,
              currency: invoice.currency,
              customerId: invoice.buyer_id,
              confirm: true,
              description: `subscription ${invoice.subscription_id}`,
              metadata: { subscription_invoice_id: invoice.id },
            },
          );
          // Still open: its webhook settles it, or the look-up job at lookUpAt does.
          const open = payment.status !== "succeeded";
          await recordSent(tx, invoice.id, attempt, open ? lookUpAt() : null);
          if (adopted) log.info({ invoiceId: id, attempt }, "adopted an existing invoice payment");
          if (payment.status === "succeeded") await invoicePaid(tx, invoice.payment_id);
        } catch (error) {
          if (!(error instanceof PspError) || error.kind !== "permanent") throw error;
          await recordSent(tx, invoice.id, attempt, null);
          const outcome = await invoiceFailed(tx, invoice.payment_id, error.summary(), dunning);
          log.warn({ invoiceId: id, attempt, outcome, error: error.summary() }, "invoice declined");
        }
      }, NO_SILENT_RERUN);
    } catch (error) {
      // Visible to operators while graphile-worker retries the job.
      const reason = error instanceof Error ? error.message : String(error);
      await deps.db.query(sql.type(z.object({ id: z.string() }))`
        update settle.subscription_invoices set last_error = ${`waiting: ${reason}`}
        where id = ${id} and status in ('pending', 'failed') returning id`);
      throw error;
    }
  };
}

/** The invoice, locked after its subscription (the lock order of every writer), with what is due. */
async function lockDue(tx: DatabaseTransactionConnection, id: string) {
  return tx.maybeOne(sql.type(Invoice)`
    select i.id, i.subscription_id, s.buyer_id, i.amount, i.currency, i.attempt_count,
           i.next_attempt_at,
           (i.status = 'pending' and i.attempt_count = 0)
             or (i.status = 'failed' and i.next_attempt_at is not null) as due,
           settle_private.invoice_payment_id(i.id, i.attempt_count) as payment_id
    from settle_private.lock_invoice(${id}) i
    join settle.subscriptions s on s.id = i.subscription_id
    where i.id is not null`);
}

/** Attempt k recorded; lookUpAt (ms) = when its payment is looked up if no webhook settled it. */
async function recordSent(
  tx: DatabaseTransactionConnection,
  id: string,
  attempt: number,
  lookUpAt: number | null,
) {
  await tx.query(sql.type(z.object({}))`
    select settle_private.invoice_charge_sent(${id}, ${attempt},
      ${lookUpAt === null ? null : sql.fragment`to_timestamp(${lookUpAt / 1000})`})`);
}
