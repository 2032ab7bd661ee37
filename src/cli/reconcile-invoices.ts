/**
 * Subscription invoices in `settle reconcile`: each invoice against the Hyperswitch
 * payments made for it. An invoice is charged once per attempt, with payment_id =
 * the invoice id for the first attempt and `<id>_<k>` for retry k (Hyperswitch
 * refuses a second payment under one id), so one invoice may own several payments.
 *
 * What must hold, per invoice:
 *   - every attempt asks for the invoice's amount and currency (else amount_differs);
 *   - at most one attempt took the money (two = the buyer was charged twice: status_differs);
 *   - the invoice is `paid` exactly when one attempt succeeded (status_differs either way;
 *     a paid invoice whose payment Hyperswitch does not know at all is missing_there).
 * A payment that names no invoice of ours is reported with the orders (missing_here).
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import type { HyperswitchClient, Payment } from "../psp/hyperswitch/index.ts";
import { amountDiffers, type EntityReport, Mismatches } from "./reconcile-mismatch.ts";

/** An invoice attempt's payment_id: the invoice id, with `_<k>` from the first retry on. */
const INVOICE_PAYMENT_ID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:_[1-9][0-9]{0,3})?$/i;

/** Hyperswitch statuses in which the buyer's money was taken. */
const TOOK_MONEY = new Set<Payment["status"]>(["succeeded", "partially_captured"]);

/** The invoice a payment_id is an attempt of, or null when it cannot be one. */
export function invoiceIdOf(paymentId: string): string | null {
  return INVOICE_PAYMENT_ID.exec(paymentId)?.[1]?.toLowerCase() ?? null;
}

const Invoice = z.object({
  id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  status: z.string(),
  psp_id: z.string().nullable(),
});
type Invoice = z.infer<typeof Invoice>;

/** Our invoices among the ids (lower-case uuids). */
export async function invoicesNamed(db: DatabasePool, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const found = await db.anyFirst(sql.type(z.object({ id: z.string() }))`
    select id::text as id from settle.subscription_invoices
    where id = any(${sql.array(ids, "uuid")})`);
  return new Set(found);
}

export interface InvoiceReconcileDeps {
  db: DatabasePool;
  hyperswitch: HyperswitchClient;
  since: Date;
}

/** `attempts`: the listed payments that are attempts of one of our invoices. */
export async function reconcileInvoices(
  deps: InvoiceReconcileDeps,
  attempts: Payment[],
): Promise<EntityReport> {
  const byInvoice = new Map<string, Payment[]>();
  for (const payment of attempts) {
    const invoice = invoiceIdOf(payment.payment_id);
    if (invoice) byInvoice.set(invoice, [...(byInvoice.get(invoice) ?? []), payment]);
  }
  // Charged at least once in the window, or named by a payment the list served.
  const ours = await deps.db.any(sql.type(Invoice)`
    select i.id::text as id, i.amount, i.currency::text as currency, i.status,
           nullif(i.psp_payment_id, '') as psp_id
    from settle.subscription_invoices i
    where (i.created_at >= ${deps.since.toISOString()}::timestamptz and i.attempt_count > 0)
       or i.id = any(${sql.array([...byInvoice.keys()], "uuid")})`);
  const out = new Mismatches("hyperswitch", "subscription_invoices");
  for (const invoice of ours) {
    const listed = byInvoice.get(invoice.id) ?? [];
    const known = await withRecordedPayment(deps.hyperswitch, invoice, listed);
    const row = { ...invoice, pspId: invoice.psp_id };
    for (const payment of known) {
      out.amount(
        row,
        payment.payment_id,
        amountDiffers(row, { ...payment, id: payment.payment_id, ourId: null }),
      );
    }
    compareStatus(out, invoice, known);
  }
  return out.report(ours.length, attempts.length);
}

/**
 * The listed attempts, plus the payment the invoice records when the list did not
 * serve it (created before the window): a paid invoice is judged by that payment.
 */
async function withRecordedPayment(
  hyperswitch: HyperswitchClient,
  invoice: Invoice,
  listed: Payment[],
): Promise<Payment[]> {
  const recorded = invoice.psp_id;
  if (!recorded || listed.some((p) => p.payment_id === recorded)) return listed;
  if (invoice.status !== "paid" && listed.length > 0) return listed;
  const payment = await hyperswitch.findPayment(recorded);
  return payment ? [...listed, payment] : listed;
}

function compareStatus(out: Mismatches, invoice: Invoice, known: Payment[]): void {
  const took = known.filter((p) => TOOK_MONEY.has(p.status));
  const ids = (list: Payment[]) => list.map((p) => p.payment_id).join(", ");
  if (took.length > 1) {
    out.add(
      "status_differs",
      invoice.id,
      // Named: a charge other than the one the invoice records.
      (took.find((p) => p.payment_id !== invoice.psp_id) ?? took[0])?.payment_id ?? null,
      `invoice ${invoice.status}, but ${took.length} of its payments took the money: ${ids(took)}`,
    );
  } else if (invoice.status === "paid" && took.length === 0) {
    if (known.length === 0) {
      out.add(
        "missing_there",
        invoice.id,
        invoice.psp_id ?? invoice.id,
        `ours paid with ${invoice.psp_id ?? "no payment id"}, Hyperswitch has no such payment`,
      );
    } else {
      out.add(
        "status_differs",
        invoice.id,
        invoice.psp_id ?? known[0]?.payment_id ?? null,
        `ours paid, no payment of it succeeded at Hyperswitch (${known.map((p) => `${p.payment_id} ${p.status}`).join(", ")})`,
      );
    }
  } else if (invoice.status !== "paid" && took.length === 1) {
    out.add(
      "status_differs",
      invoice.id,
      took[0]?.payment_id ?? null,
      `ours ${invoice.status}, Hyperswitch ${took[0]?.status} (the buyer was charged)`,
    );
  }
}
