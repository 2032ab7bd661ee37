/**
 * Payouts and seller debts at the task level (SPEC §5, §7), against a real
 * Postgres and the fake Stripe: the payout job's call (key = row id, on the
 * connected account), payout.* events moving the row, the balance the database
 * enforces (transfers − reversals − debts − payouts), holds, and debt netting.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { createPayout } from "../../src/flows/payouts.ts";
import { makeCreatePayout } from "../../src/tasks/seller_payouts__create.ts";
import { makePayAll } from "../../src/tasks/seller_payouts__pay_all.ts";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { makeReverseTransfer } from "../../src/tasks/transfer_reversals__reverse.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import {
  noHelpers,
  type PaidOrder,
  paidOrder,
  row,
  succeededRefund,
  type World,
  world,
} from "../tasks/support.ts";

const ADMIN = { role: "settle_admin", "jwt.claims.role": "settle_admin" };

interface PayoutRow {
  status: string;
  amount: string;
  external_payout_id: string | null;
  last_error: string | null;
}

/** A paid order of one item (no fee) whose transfer Stripe made: the seller has `amount`. */
async function fundedSeller(w: World, amount = 1000): Promise<PaidOrder> {
  const o = await paidOrder(w, [{ amount }]);
  await makeCreateTransfer(w.deps)({ id: o.transferIds[0] }, noHelpers);
  return o;
}

async function available(w: World, sellerId: string) {
  const { rows } = await w.pool.query(
    "select available::int, held from settle_private.seller_balances($1) where currency = 'EUR'",
    [sellerId],
  );
  return rows[0] as { available: number; held: string | null };
}

/** createPayout of all the order's (first) seller has available. */
const payoutOfAll = (w: World, o: PaidOrder) =>
  createPayout(w.db, ADMIN, { sellerId: o.sellerIds[0]!, amount: null, currency: null });

/** A succeeded refund of `amount`; its reversal row (pending) is returned. */
async function refund(w: World, o: PaidOrder, amount: number): Promise<string> {
  const { reversalIds } = await succeededRefund(w.pool, o.orderId, amount);
  return reversalIds[0]!;
}

/** Stores a Stripe event as the webhook endpoint would, and processes it. */
async function deliver(w: World, type: string, object: unknown): Promise<string> {
  const { rows } = await w.pool.query(
    `insert into settle.webhook_events (provider, event_id, event_type, payload)
     values ('stripe', $1, $2, $3) returning id`,
    [`evt_${randomUUID()}`, type, { type, data: { object } }],
  );
  await makeProcessWebhook(w.deps)({ id: rows[0].id }, noHelpers);
  const event = await row<{ last_error: string | null }>(w, "webhook_events", rows[0].id);
  return event.last_error ?? "quiet";
}

test("a payout reaches Stripe on the connected account with key = row id; payout.paid makes it paid", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  const id = await payoutOfAll(w, o);
  t.is((await row<PayoutRow>(w, "seller_payouts", id)).amount, "1000");
  t.true(
    (
      await w.pool.query("select 1 from graphile_worker.jobs where key = $1", [
        `seller_payouts:${id}`,
      ])
    ).rowCount === 1,
    "the row's job is enqueued with it",
  );

  await makeCreatePayout(w.deps)({ id }, noHelpers);
  const [request] = w.stripeFake.requests({ method: "POST", path: "/v1/payouts" });
  t.is(request?.headers["idempotency-key"], id);
  t.is(request?.headers["stripe-account"], o.accounts[0]);
  const sent = await row<PayoutRow>(w, "seller_payouts", id);
  t.is(sent.status, "pending");
  t.regex(sent.external_payout_id ?? "", /^po_/);

  const paid = w.stripeFake.settlePayout(sent.external_payout_id!, "paid");
  t.is(await deliver(w, "payout.paid", paid), "quiet");
  t.is((await row<PayoutRow>(w, "seller_payouts", id)).status, "paid");
  t.is(await deliver(w, "payout.paid", paid), "quiet", "a repeated event is a quiet duplicate");
  const audit = await w.pool.query(
    "select from_status, to_status, actor from settle.state_transitions where entity_id = $1 order by id",
    [id],
  );
  t.deepEqual(audit.rows, [
    { from_status: null, to_status: "pending", actor: "settle_admin" },
    { from_status: "pending", to_status: "paid", actor: "task:webhook_events__process" },
  ]);
  t.deepEqual(await available(w, o.sellerIds[0]!), { available: 0, held: null });
});

test("payout.failed fails the payout and gives its amount back to the available balance", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  const id = await createPayout(w.db, ADMIN, {
    sellerId: o.sellerIds[0]!,
    amount: 600n,
    currency: "EUR",
  });
  t.is((await available(w, o.sellerIds[0]!)).available, 400);
  await makeCreatePayout(w.deps)({ id }, noHelpers);
  const { external_payout_id } = await row<PayoutRow>(w, "seller_payouts", id);
  const failed = w.stripeFake.settlePayout(external_payout_id!, "failed");
  t.is(await deliver(w, "payout.failed", failed), "quiet");
  const after = await row<PayoutRow>(w, "seller_payouts", id);
  t.is(after.status, "failed");
  t.regex(after.last_error ?? "", /^account_closed: /);
  t.is((await available(w, o.sellerIds[0]!)).available, 1000);
  // An event against a final status it contradicts is kept for a human, not applied.
  t.regex(await deliver(w, "payout.paid", { ...failed, status: "paid" }), /^conflict: /);
  t.is((await row<PayoutRow>(w, "seller_payouts", id)).status, "failed");
});

test("a payout above the available amount is refused and writes nothing, concurrent ones included", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  const sellerId = o.sellerIds[0]!;
  const error = await t.throwsAsync(
    createPayout(w.db, ADMIN, { sellerId, amount: 1001n, currency: null }),
  );
  t.regex(error?.message ?? "", /exceeds what seller .* has available in EUR: 1000/);
  // Concurrent payouts of one seller serialize on its row: the second sees the first.
  const first = createPayout(w.db, ADMIN, { sellerId, amount: 600n, currency: null });
  const second = createPayout(w.db, ADMIN, { sellerId, amount: 600n, currency: null });
  const results = await Promise.allSettled([first, second]);
  t.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  const count = await w.pool.query("select count(*)::int as n from settle.seller_payouts");
  t.is(count.rows[0].n, 1, "the refused ones wrote nothing");
});

test("available = transfers − reversals − debts − payouts; a balance_insufficient reversal is a debt, netted by the next payout", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  const sellerId = o.sellerIds[0]!;
  await makeReverseTransfer(w.deps)({ id: await refund(w, o, 300) }, noHelpers);
  t.deepEqual(await available(w, sellerId), { available: 700, held: null });
  await createPayout(w.db, ADMIN, { sellerId, amount: 200n, currency: null });
  t.is((await available(w, sellerId)).available, 500);

  // The seller's Stripe balance cannot cover the next reversal: a debt.
  w.stripeFake.setBalance(o.accounts[0]!, "eur", 50);
  const reversalId = await refund(w, o, 100);
  t.regex((await available(w, sellerId)).held ?? "", /reversal .* is pending/, "held meanwhile");
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  t.is(
    (await row<{ status: string }>(w, "transfer_reversals", reversalId)).status,
    "permanently_failed",
  );
  const debts = await w.pool.query(
    "select id, seller_id, transfer_reversal_id, amount::int, currency from ops.seller_debts",
  );
  t.like(debts.rows[0], {
    seller_id: sellerId,
    transfer_reversal_id: reversalId,
    amount: 100,
    currency: "EUR",
  });
  t.deepEqual(await available(w, sellerId), { available: 400, held: null });

  const payoutId = await createPayout(w.db, ADMIN, { sellerId, amount: null, currency: null });
  t.is((await row<PayoutRow>(w, "seller_payouts", payoutId)).amount, "400");
  const debt = await w.pool.query(
    "select status, settled_by, settled_payout_id, reason from settle.seller_debts where id = $1",
    [debts.rows[0].id],
  );
  t.deepEqual(debt.rows[0], {
    status: "settled",
    settled_by: "netting",
    settled_payout_id: payoutId,
    reason: `netted against payout ${payoutId}`,
  });
  t.is((await w.pool.query("select * from ops.seller_debts")).rowCount, 0);
  // Netted money stays withheld: nothing more to pay.
  t.is((await available(w, sellerId)).available, 0);
  const audit = await w.pool.query(
    "select from_status, to_status, reason from settle.state_transitions where entity = 'seller_debts' order by id",
  );
  t.deepEqual(audit.rows, [
    { from_status: null, to_status: "open", reason: null },
    { from_status: "open", to_status: "settled", reason: `netted against payout ${payoutId}` },
  ]);
});

test("a seller whose money cannot be located is held: no payout, by hand or by the daily run", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]); // transfer still pending
  const made = await fundedSeller(w, 500);
  const error = await t.throwsAsync(payoutOfAll(w, o));
  t.regex(error?.message ?? "", /is held in EUR: transfer .* is pending/);

  await makePayAll(w.deps)({}, noHelpers);
  const { rows } = await w.pool.query("select seller_id, amount::int from settle.seller_payouts");
  t.deepEqual(rows, [{ seller_id: made.sellerIds[0], amount: 500 }], "only the seller not held");
  await makePayAll(w.deps)({}, noHelpers);
  t.is(
    (await w.pool.query("select 1 from settle.seller_payouts")).rowCount,
    1,
    "nothing left to pay",
  );
});

test("a payout Stripe refuses fails with its code; its amount is available again", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  w.stripeFake.setBalance(o.accounts[0]!, "eur", 10);
  const id = await payoutOfAll(w, o);
  await makeCreatePayout(w.deps)({ id }, noHelpers);
  const failed = await row<PayoutRow>(w, "seller_payouts", id);
  t.is(failed.status, "failed");
  t.regex(failed.last_error ?? "", /balance_insufficient/);
  t.is((await available(w, o.sellerIds[0]!)).available, 1000);
});

test("a payout never recorded as tried, run past Stripe's key window, is parked for a look instead of sent", async (t) => {
  const w = await world(t);
  const o = await fundedSeller(w);
  const id = await payoutOfAll(w, o);
  // A run that crashed after its call would have left the row exactly like this,
  // and a day later Stripe would run the same key as a new payout.
  w.clock.now += 24 * 60 * 60_000;
  await makeCreatePayout(w.deps)({ id }, noHelpers);
  t.is(w.stripeFake.requests({ method: "POST", path: "/v1/payouts" }).length, 0);
  const parked = await w.pool.query(
    "select status, external_payout_id, next_retry_at = 'infinity' as parked, last_error from settle.seller_payouts where id = $1",
    [id],
  );
  t.like(parked.rows[0], { status: "pending", external_payout_id: null, parked: true });
  t.regex(
    parked.rows[0].last_error,
    /^outcome unknown, needs a look at Stripe .*a run that crashed/,
  );
  t.is((await available(w, o.sellerIds[0]!)).available, 0, "still counted as paid out");
});
