/**
 * A refund applied after a worker died inside a transfer's Stripe call (found by
 * `npm run chaos`): the row is pending with nothing recorded, but Stripe may have
 * made the transfer. Its job, still locked by the dead worker, says so: the refund
 * takes the share back by a reversal, which waits for the transfer to be made or
 * adopted, instead of cancelling a transfer Stripe holds.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { makeReverseTransfer } from "../../src/tasks/transfer_reversals__reverse.ts";
import {
  noHelpers,
  type PaidOrder,
  paidOrder,
  row,
  succeededRefund,
  type World,
  world,
} from "./support.ts";

/** A dead worker's job: taken (locked), never finished. */
async function jobTakenByDeadWorker(w: World, transferId: string): Promise<void> {
  const { rowCount } = await w.pool.query(
    `update graphile_worker._private_jobs set locked_at = now(), locked_by = $2
     where key = $1`,
    [`seller_transfers:${transferId}`, `dead-${randomUUID()}`],
  );
  if (rowCount !== 1) throw new Error(`no job for transfer ${transferId}`);
}

async function refundAll(w: World, o: PaidOrder, amount: number): Promise<void> {
  await succeededRefund(w.pool, o.orderId, amount);
}

test("a transfer whose job a dead worker holds is reversed, not cancelled; once made, the reversal goes through", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 700 }]);
  const id = o.transferIds[0]!;
  await jobTakenByDeadWorker(w, id);
  await refundAll(w, o, 700);
  t.is(
    (await row<{ status: string }>(w, "seller_transfers", id)).status,
    "pending",
    "not cancelled",
  );
  const { rows: reversals } = await w.pool.query(
    "select id, amount::int, status from settle.transfer_reversals where seller_transfer_id = $1",
    [id],
  );
  t.like(reversals[0], { amount: 700, status: "pending" });

  // The reversal waits for the transfer; the sweeper's new run makes (or adopts) it.
  await makeReverseTransfer(w.deps)({ id: reversals[0].id }, noHelpers);
  t.is((await row<{ status: string }>(w, "transfer_reversals", reversals[0].id)).status, "pending");
  await makeCreateTransfer(w.deps)({ id: id }, noHelpers);
  t.is((await row<{ status: string }>(w, "seller_transfers", id)).status, "completed");
  const waited = await row<{ next_retry_at: Date }>(w, "transfer_reversals", reversals[0].id);
  w.clock.now = waited.next_retry_at.getTime();
  await makeReverseTransfer(w.deps)({ id: reversals[0].id }, noHelpers);
  t.is(
    (await row<{ status: string }>(w, "transfer_reversals", reversals[0].id)).status,
    "reversed",
  );
  const atStripe = w.stripeFake.transfers().find((tr) => tr.metadata?.seller_transfer_id === id);
  t.is(atStripe?.amount_reversed, 700, "the seller gave the refunded share back");
});

test("a transfer whose run made its call and then lost its transaction (job failed, not locked) is reversed, not shrunk", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 700 }]);
  const id = o.transferIds[0]!;
  // The run's call reached Stripe; then the database went away before its commit,
  // and graphile-worker recorded the run as failed: attempted, unlocked, due later.
  await w.deps.stripe.createTransfer(id, {
    amount: 700,
    currency: "EUR",
    destination: o.accounts[0]!,
    transferGroup: o.orderId,
    metadata: { order_id: o.orderId, seller_transfer_id: id },
  });
  const { rowCount } = await w.pool.query(
    `update graphile_worker._private_jobs
     set attempts = 1, last_error = 'Connection terminated unexpectedly', run_at = now() + interval '3 seconds'
     where key = $1 and locked_at is null`,
    [`seller_transfers:${id}`],
  );
  t.is(rowCount, 1);
  await refundAll(w, o, 300);
  t.like(await row<{ status: string; amount: string }>(w, "seller_transfers", id), {
    status: "pending",
    amount: "700",
  });
  const { rows: reversals } = await w.pool.query(
    "select id, amount::int from settle.transfer_reversals where seller_transfer_id = $1",
    [id],
  );
  t.like(reversals[0], { amount: 300 });
  // The retry sends the same key with the same amount: Stripe replays the transfer.
  await makeCreateTransfer(w.deps)({ id }, noHelpers);
  t.is((await row<{ status: string }>(w, "seller_transfers", id)).status, "completed");
  t.is(w.stripeFake.transfers().length, 1);
});

test("without a taken job, a refund still cancels a transfer not made yet", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 700 }]);
  await refundAll(w, o, 700);
  t.is(
    (await row<{ status: string }>(w, "seller_transfers", o.transferIds[0]!)).status,
    "cancelled",
  );
  const { rowCount } = await w.pool.query(
    "select 1 from settle.transfer_reversals where seller_transfer_id = $1",
    [o.transferIds[0]],
  );
  t.is(rowCount, 0);
});
