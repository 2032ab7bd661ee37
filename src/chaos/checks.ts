/**
 * What must hold after a chaos run, each check with the number of things it
 * looked at and every violation it found:
 *   - the fake Stripe's books equal ours: every transfer, reversal and payout
 *     exists once on each side with equal amounts (and statuses, for payouts);
 *     a reversal Stripe refused for balance_insufficient is a recorded seller
 *     debt, any other reversal that is not reversed is a violation;
 *   - the fake Hyperswitch's payments and refunds equal our orders and refunds;
 *   - no keyed PSP call was executed twice (two objects made under one row's key);
 *   - nothing left in a non-terminal state, ops.money_invariants empty.
 */
import type { Books } from "./books.ts";
import type { Unsettled } from "./drain.ts";

export interface CheckResult {
  name: string;
  checked: number;
  violations: string[];
}

const MADE = new Set(["completed", "partially_reversed", "reversed"]);

function groupBy<T>(list: T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of list) {
    const k = key(item) ?? "";
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

export function checkTransfers({ stripe, ours }: Books): CheckResult {
  const v: string[] = [];
  const atStripe = groupBy(stripe.transfers, (t) => t.transfer.metadata.seller_transfer_id);
  const rows = new Map(ours.transfers.map((t) => [t.id, t]));
  for (const [rowId, list] of atStripe) {
    if (!rows.has(rowId))
      v.push(
        `Stripe transfer ${list[0]!.transfer.id} names no transfer row of ours (${rowId || "no metadata"})`,
      );
    if (list.length > 1)
      v.push(
        `transfer ${rowId}: ${list.length} transfers at Stripe (${list.map((t) => t.transfer.id).join(", ")})`,
      );
  }
  for (const row of ours.transfers) {
    const theirs = atStripe.get(row.id) ?? [];
    if (MADE.has(row.status)) {
      const match = theirs.find((t) => t.transfer.id === row.stripe_transfer_id);
      if (!match) {
        v.push(
          `transfer ${row.id} is ${row.status} with ${row.stripe_transfer_id}, which Stripe does not have`,
        );
        continue;
      }
      if (match.transfer.amount !== Number(row.amount))
        v.push(`transfer ${row.id}: ${row.amount} here, ${match.transfer.amount} at Stripe`);
      if (match.transfer.destination !== row.account)
        v.push(
          `transfer ${row.id}: to ${row.account} here, to ${match.transfer.destination} at Stripe`,
        );
      if (match.transfer.currency !== row.currency.toLowerCase())
        v.push(`transfer ${row.id}: ${row.currency} here, ${match.transfer.currency} at Stripe`);
    } else {
      if (theirs.length > 0)
        v.push(
          `transfer ${row.id} is ${row.status}, yet Stripe made ${theirs.map((t) => t.transfer.id).join(", ")}`,
        );
      if (row.status === "permanently_failed")
        v.push(`transfer ${row.id} gave up, the seller is not paid: ${row.last_error}`);
    }
  }
  return { name: "transfers: Stripe = ours", checked: ours.transfers.length, violations: v };
}

export function checkReversals({ stripe, ours }: Books): CheckResult {
  const v: string[] = [];
  const all = stripe.transfers.flatMap((t) =>
    t.reversals.map((r) => ({ ...r, transferId: t.transfer.id })),
  );
  const atStripe = groupBy(all, (r) => r.metadata.transfer_reversal_id);
  const rows = new Map(ours.reversals.map((r) => [r.id, r]));
  const transfers = new Map(ours.transfers.map((t) => [t.id, t]));
  for (const [rowId, list] of atStripe) {
    if (!rows.has(rowId))
      v.push(
        `Stripe reversal ${list[0]!.id} names no reversal row of ours (${rowId || "no metadata"})`,
      );
    if (list.length > 1)
      v.push(
        `reversal ${rowId}: ${list.length} reversals at Stripe (${list.map((r) => r.id).join(", ")})`,
      );
  }
  let debts = 0;
  for (const row of ours.reversals) {
    const theirs = atStripe.get(row.id) ?? [];
    const transfer = transfers.get(row.seller_transfer_id);
    if (row.status === "reversed") {
      const match = theirs.find((r) => r.id === row.stripe_reversal_id);
      if (!match) {
        v.push(
          `reversal ${row.id} is reversed with ${row.stripe_reversal_id}, which Stripe does not have`,
        );
        continue;
      }
      if (match.amount !== Number(row.amount))
        v.push(`reversal ${row.id}: ${row.amount} here, ${match.amount} at Stripe`);
      if (match.transferId !== transfer?.stripe_transfer_id)
        v.push(
          `reversal ${row.id}: of ${transfer?.stripe_transfer_id} here, of ${match.transferId} at Stripe`,
        );
    } else {
      if (theirs.length > 0)
        v.push(
          `reversal ${row.id} is ${row.status}, yet Stripe made ${theirs.map((r) => r.id).join(", ")}: ${row.last_error}`,
        );
      if (row.status === "permanently_failed") {
        if (row.debt_amount !== null && Number(row.debt_amount) === Number(row.amount)) debts++;
        else
          v.push(
            `reversal ${row.id} is neither reversed nor a recorded seller debt (debt ${row.debt_amount ?? "none"}): ${row.last_error}`,
          );
      }
    }
  }
  // Stripe's running total per transfer equals the reversals we recorded.
  const reversedHere = new Map<string, number>();
  for (const row of ours.reversals) {
    const stripeId = transfers.get(row.seller_transfer_id)?.stripe_transfer_id;
    if (row.status === "reversed" && stripeId)
      reversedHere.set(stripeId, (reversedHere.get(stripeId) ?? 0) + Number(row.amount));
  }
  for (const { transfer } of stripe.transfers) {
    const here = reversedHere.get(transfer.id) ?? 0;
    if (transfer.amount_reversed !== here)
      v.push(
        `Stripe transfer ${transfer.id}: ${transfer.amount_reversed} reversed at Stripe, ${here} here`,
      );
  }
  return {
    name: `reversals: Stripe = ours (${debts} refused for balance, recorded as seller debts)`,
    checked: ours.reversals.length,
    violations: v,
  };
}

export function checkPayouts({ stripe, ours }: Books): CheckResult {
  const v: string[] = [];
  const atStripe = groupBy(stripe.payouts, (p) => p.payout.metadata.seller_payout_id);
  const rows = new Map(ours.payouts.map((p) => [p.id, p]));
  for (const [rowId, list] of atStripe) {
    if (!rows.has(rowId))
      v.push(
        `Stripe payout ${list[0]!.payout.id} names no payout row of ours (${rowId || "no metadata"})`,
      );
    if (list.length > 1)
      v.push(
        `payout ${rowId}: ${list.length} payouts at Stripe (${list.map((p) => p.payout.id).join(", ")})`,
      );
  }
  for (const row of ours.payouts) {
    const theirs = atStripe.get(row.id) ?? [];
    if (row.external_payout_id) {
      const match = theirs.find((p) => p.payout.id === row.external_payout_id);
      if (!match) {
        v.push(`payout ${row.id} has ${row.external_payout_id}, which Stripe does not have`);
        continue;
      }
      if (match.payout.amount !== Number(row.amount))
        v.push(`payout ${row.id}: ${row.amount} here, ${match.payout.amount} at Stripe`);
      if (match.account !== row.account)
        v.push(`payout ${row.id}: from ${row.account} here, from ${match.account} at Stripe`);
      if (match.payout.status !== row.status)
        v.push(`payout ${row.id}: ${row.status} here, ${match.payout.status} at Stripe`);
    } else if (theirs.length > 0) {
      v.push(
        `payout ${row.id} (${row.status}) has no Stripe id, yet Stripe made ${theirs.map((p) => p.payout.id).join(", ")}`,
      );
    }
  }
  return { name: "payouts: Stripe = ours", checked: ours.payouts.length, violations: v };
}

export function checkHyperswitch({ hyperswitch, ours }: Books): CheckResult {
  const v: string[] = [];
  const orders = new Map(ours.orders.map((o) => [o.id, o]));
  const payments = new Map(hyperswitch.payments.map((p) => [p.payment_id, p]));
  for (const p of hyperswitch.payments) {
    const order = orders.get(p.payment_id);
    if (!order) {
      v.push(`Hyperswitch payment ${p.payment_id} is no order of ours`);
      continue;
    }
    if (p.amount !== Number(order.total_amount))
      v.push(`order ${order.id}: ${order.total_amount} here, paid ${p.amount} at Hyperswitch`);
    const expected =
      p.status === "succeeded"
        ? ["paid", "partially_refunded", "refunded"]
        : p.status === "failed"
          ? ["failed"]
          : [];
    if (!expected.includes(order.status))
      v.push(`order ${order.id} is ${order.status}, its payment ${p.status} at Hyperswitch`);
  }
  for (const order of ours.orders) {
    if (order.psp_payment_id && !payments.has(order.psp_payment_id))
      v.push(
        `order ${order.id} has payment ${order.psp_payment_id}, which Hyperswitch does not have`,
      );
    if (
      ["paid", "partially_refunded", "refunded"].includes(order.status) &&
      !payments.has(order.id)
    )
      v.push(`order ${order.id} is ${order.status} without a payment at Hyperswitch`);
  }
  const refunds = new Map(ours.refunds.map((r) => [r.id, r]));
  const theirRefunds = new Map(hyperswitch.refunds.map((r) => [r.refund_id, r]));
  for (const r of hyperswitch.refunds) {
    const row = refunds.get(r.refund_id);
    if (!row) {
      v.push(`Hyperswitch refund ${r.refund_id} is no refund of ours`);
      continue;
    }
    if (r.amount !== Number(row.amount))
      v.push(`refund ${row.id}: ${row.amount} here, ${r.amount} at Hyperswitch`);
    if (r.status !== row.status)
      v.push(`refund ${row.id}: ${row.status} here, ${r.status} at Hyperswitch`);
  }
  for (const row of ours.refunds) {
    if (row.status !== "failed" && !theirRefunds.has(row.id))
      v.push(`refund ${row.id} is ${row.status}, and Hyperswitch does not have it`);
  }
  return {
    name: "payments and refunds: Hyperswitch = ours",
    checked: ours.orders.length + ours.refunds.length,
    violations: v,
  };
}

/**
 * One execution per key: every keyed POST the fake Stripe executed, grouped by
 * the row it was for (the key up to its `:<attempt>` suffix); two that made an
 * object for one row mean a call was executed twice.
 */
export function checkIdempotency({ stripe, hyperswitch }: Books): CheckResult {
  const v: string[] = [];
  const made = stripe.executions.filter((e) => e.objectId !== null);
  const byRow = groupBy(made, (e) => `${e.scope} ${e.key.split(":")[0]}`);
  for (const [row, list] of byRow) {
    if (list.length > 1)
      v.push(
        `${row}: ${list.length} executions made objects (${list.map((e) => `${e.key} -> ${e.objectId}`).join(", ")})`,
      );
  }
  // Hyperswitch's key is the merchant-chosen id itself: one object per id by construction,
  // so what is checked there is that no order got two payments or a refund two objects.
  const refundIds = groupBy(hyperswitch.refunds, (r) => r.refund_id);
  for (const [id, list] of refundIds)
    if (list.length > 1) v.push(`refund ${id}: ${list.length} at Hyperswitch`);
  return {
    name: `one execution per idempotency key (${stripe.executions.length} keyed Stripe POSTs executed)`,
    checked: byRow.size + hyperswitch.payments.length + hyperswitch.refunds.length,
    violations: v,
  };
}

export function checkDebts({ ours }: Books): CheckResult {
  const v: string[] = [];
  const reversals = new Map(ours.reversals.map((r) => [r.id, r]));
  for (const debt of ours.debts) {
    const r = reversals.get(debt.transfer_reversal_id);
    if (r?.status !== "permanently_failed" || !r.last_error?.startsWith("balance_insufficient"))
      v.push(
        `seller debt ${debt.id} is for reversal ${debt.transfer_reversal_id}, which is ${r?.status ?? "missing"}: ${r?.last_error}`,
      );
    else if (Number(r.amount) !== Number(debt.amount))
      v.push(`seller debt ${debt.id}: ${debt.amount}, its reversal ${r.amount}`);
  }
  return { name: "seller debts are refused reversals", checked: ours.debts.length, violations: v };
}

export function checkInvariants({ ours }: Books): CheckResult {
  return {
    // The view checks every order, refund and transfer; each row it returns is one breach.
    name: "ops.money_invariants empty (one query over every order, refund and transfer)",
    checked: ours.orders.length + ours.refunds.length + ours.transfers.length,
    violations: ours.invariants.map((row) => JSON.stringify(row)),
  };
}

export function checkSettled({ ours }: Books, left: Unsettled[]): CheckResult {
  // Counted: the money rows the drain looked at (webhook events are checked too,
  // but only the unprocessed ones are read).
  const rows =
    ours.orders.length +
    ours.refunds.length +
    ours.transfers.length +
    ours.reversals.length +
    ours.payouts.length;
  return {
    name: "no row left in a non-terminal state (orders, refunds, transfers, reversals, payouts)",
    checked: rows,
    violations: left.map(
      (r) => `${r.entity} ${r.id} is ${r.status}${r.last_error ? `: ${r.last_error}` : ""}`,
    ),
  };
}

export function runChecks(books: Books, left: Unsettled[]): CheckResult[] {
  return [
    checkSettled(books, left),
    checkTransfers(books),
    checkReversals(books),
    checkPayouts(books),
    checkHyperswitch(books),
    checkIdempotency(books),
    checkDebts(books),
    checkInvariants(books),
  ];
}
