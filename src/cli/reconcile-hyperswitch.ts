/**
 * The Hyperswitch half of `settle reconcile`: our orders' payments and our refunds
 * against Hyperswitch's lists since a moment.
 *
 * Ids: a payment's `payment_id` is our order id and a refund's `refund_id` our
 * refund row id (SPEC §1.1), which our rows also store as psp_payment_id /
 * hyperswitch_refund_id once they learn it. Pairing is by the stored id first,
 * then by our id for a row that never learned it.
 *
 * Windows, as for Stripe: the lists give objects created since then; ours are the
 * rows created since then plus any row those objects name. A row of ours that says
 * its object was made but that the list did not serve (older than the window) is
 * fetched on its own before it is called missing there.
 *
 * Statuses are compared in our words: Hyperswitch keeps a refunded payment
 * `succeeded`, and its `pending`/`review` refund is our `pending`/`processing`.
 *
 * Subscription invoices are charged through Hyperswitch too (payment_id = invoice
 * id, or `<id>_<k>` for retry k): those payments are set apart from the orders'
 * and compared with their invoices by reconcile-invoices.ts.
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import type {
  HyperswitchClient,
  Payment,
  PaymentStatus,
  Refund,
} from "../psp/hyperswitch/index.ts";
import { paymentsSince, refundsSince } from "../psp/hyperswitch/lists.ts";
import { invoiceIdOf, invoicesNamed, reconcileInvoices } from "./reconcile-invoices.ts";
import {
  amountDiffers,
  type EntityReport,
  Mismatches,
  type OurRow,
  ourIdFrom,
  pair,
} from "./reconcile-mismatch.ts";

export interface HyperswitchReconcileDeps {
  db: DatabasePool;
  hyperswitch: HyperswitchClient;
  since: Date;
  /** Rows per list request. (Default: 100, the router's maximum) */
  pageSize?: number;
}

const Row = z.object({
  id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  status: z.string(),
  psp_id: z.string().nullable(),
});

export async function reconcileHyperswitch(
  deps: HyperswitchReconcileDeps,
): Promise<EntityReport[]> {
  const walk = { pageSize: deps.pageSize };
  const payments = await paymentsSince(deps.hyperswitch, deps.since, walk);
  const refunds = await refundsSince(deps.hyperswitch, deps.since, walk);
  const orders = await reconcilePayments(deps, payments);
  return [
    orders.report,
    await reconcileInvoices(deps, orders.invoiceAttempts),
    await reconcileRefunds(deps, refunds),
  ];
}

/** The order statuses that agree with a Hyperswitch payment status. */
export function orderStatusesFor(status: PaymentStatus): readonly string[] {
  switch (status) {
    case "succeeded":
    case "partially_captured":
      // Refunds leave the payment `succeeded`; our order records them.
      return ["paid", "partially_refunded", "refunded"];
    case "failed":
      return ["failed"];
    case "cancelled":
    case "cancelled_post_capture":
    case "expired":
      return ["cancelled", "failed"];
    default:
      // Still open at Hyperswitch (awaiting the buyer, 3DS, capture, the connector).
      return ["payment_pending"];
  }
}

/** The refund statuses that agree with a Hyperswitch refund status. */
export function refundStatusesFor(status: Refund["status"]): readonly string[] {
  switch (status) {
    case "succeeded":
      return ["succeeded"];
    case "failed":
      return ["failed"];
    default:
      // pending/review: sent (processing), or sent and not yet recorded (pending, the sweeper's).
      return ["processing", "pending"];
  }
}

async function reconcilePayments(
  deps: HyperswitchReconcileDeps,
  payments: Payment[],
): Promise<{ report: EntityReport; invoiceAttempts: Payment[] }> {
  const theirs = payments.map((p) => ({
    id: p.payment_id,
    amount: p.amount,
    currency: p.currency,
    ourId: ourIdFrom(p.payment_id),
    payment: p,
  }));
  const ids = theirs.map((t) => t.id);
  // A `pending` order was never sent: it is ours in the window only if Hyperswitch names it.
  const ours = toRows(
    await deps.db.any(sql.type(Row)`
      select o.id, o.total_amount as amount, o.currency::text as currency, o.status,
             nullif(o.psp_payment_id, '') as psp_id
      from settle.orders o
      where (o.created_at >= ${deps.since.toISOString()}::timestamptz and o.status <> 'pending')
         or o.psp_payment_id = any(${sql.array(ids, "text")})
         or o.id::text = any(${sql.array(ids, "text")})`),
  );
  const out = new Mismatches("hyperswitch", "orders");
  const { pairs, unmatched, unpaired } = pair(ours, theirs);
  const compare = (row: OurRow, payment: Payment) => {
    out.amount(
      row,
      payment.payment_id,
      amountDiffers(row, { ...payment, id: payment.payment_id, ourId: null }),
    );
    const agree = orderStatusesFor(payment.status);
    if (!agree.includes(row.status)) {
      out.add(
        "status_differs",
        row.id,
        payment.payment_id,
        `ours ${row.status}, Hyperswitch ${payment.status} (agrees with ${agree.join("|")})`,
      );
    }
  };
  for (const [row, object] of pairs) compare(row, object.payment);
  // Payments named after one of our invoices are the invoices' (reconcile-invoices.ts).
  const invoices = await invoicesNamed(
    deps.db,
    unmatched.flatMap((o) => invoiceIdOf(o.id) ?? []),
  );
  const invoiceAttempts: Payment[] = [];
  for (const object of unmatched) {
    const invoice = invoiceIdOf(object.id);
    if (invoice && invoices.has(invoice)) {
      invoiceAttempts.push(object.payment);
      continue;
    }
    const p = object.payment;
    out.add(
      "missing_here",
      null,
      object.id,
      `Hyperswitch payment of ${p.amount} ${p.currency} (${p.status}, created ${p.created ?? "?"}) has no order here`,
    );
  }
  for (const row of unpaired) {
    if (!madePayment(row)) continue;
    const payment = await deps.hyperswitch.findPayment(row.pspId ?? row.id);
    if (payment) compare(row, payment);
    else out.missingThere(row.pspId ? row : { ...row, pspId: row.id }, "payment");
  }
  return {
    report: out.report(ours.length, theirs.length - invoiceAttempts.length),
    invoiceAttempts,
  };
}

async function reconcileRefunds(
  deps: HyperswitchReconcileDeps,
  refunds: Refund[],
): Promise<EntityReport> {
  const theirs = refunds.map((r) => ({
    id: r.refund_id,
    amount: r.amount,
    currency: r.currency,
    ourId: ourIdFrom(r.refund_id),
    refund: r,
  }));
  const ids = theirs.map((t) => t.id);
  const ours = toRows(
    await deps.db.any(sql.type(Row)`
      select r.id, r.amount, o.currency::text as currency, r.status,
             nullif(r.hyperswitch_refund_id, '') as psp_id
      from settle.refunds r join settle.orders o on o.id = r.order_id
      where r.created_at >= ${deps.since.toISOString()}::timestamptz
         or r.hyperswitch_refund_id = any(${sql.array(ids, "text")})
         or r.id::text = any(${sql.array(ids, "text")})`),
  );
  const out = new Mismatches("hyperswitch", "refunds");
  const { pairs, unmatched, unpaired } = pair(ours, theirs);
  const compare = (row: OurRow, refund: Refund) => {
    out.amount(
      row,
      refund.refund_id,
      amountDiffers(row, { ...refund, id: refund.refund_id, ourId: null }),
    );
    const agree = refundStatusesFor(refund.status);
    if (!agree.includes(row.status)) {
      out.add(
        "status_differs",
        row.id,
        refund.refund_id,
        `ours ${row.status}, Hyperswitch ${refund.status} (agrees with ${agree.join("|")})`,
      );
    }
  };
  for (const [row, object] of pairs) compare(row, object.refund);
  for (const object of unmatched) {
    const r = object.refund;
    out.add(
      "missing_here",
      null,
      object.id,
      `Hyperswitch refund of ${r.amount} ${r.currency} of payment ${r.payment_id} (${r.status}) has no row here`,
    );
  }
  for (const row of unpaired) {
    // Sent, or at least recorded as reaching Hyperswitch; a `pending` or `failed` row may never have.
    if (!row.pspId && row.status !== "processing" && row.status !== "succeeded") continue;
    const refund = await deps.hyperswitch.findRefund(row.pspId ?? row.id);
    if (refund) compare(row, refund);
    else out.missingThere(row.pspId ? row : { ...row, pspId: row.id }, "refund");
  }
  return out.report(ours.length, theirs.length);
}

/** An order whose payment must exist at Hyperswitch: it holds the id, or its status says paid. */
function madePayment(row: OurRow): boolean {
  return row.pspId !== null || ["paid", "partially_refunded", "refunded"].includes(row.status);
}

function toRows(rows: readonly z.infer<typeof Row>[]): OurRow[] {
  return rows.map((r) => ({
    id: r.id,
    amount: r.amount,
    currency: r.currency,
    status: r.status,
    pspId: r.psp_id,
  }));
}
