/**
 * cancelOrder on a payment_pending order also cancels its payment at Hyperswitch
 * (000036): the cancel records one payment_cancellations row with its job, and the
 * job's POST /payments/{id}/cancel settles it. Against the fake Hyperswitch.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import type { Caller } from "../../src/flows/caller.ts";
import { confirmOrder } from "../../src/flows/confirm-order.ts";
import { cancelOrder } from "../../src/flows/order-admin.ts";
import { makeSendPaymentCancellation } from "../../src/tasks/payment_cancellations__send.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import { noHelpers, type World, world } from "./support.ts";

const platform: Caller = { role: "settle_platform", "jwt.claims.role": "settle_platform" };

interface CancellationRow {
  id: string;
  order_id: string;
  payment_id: string;
  status: string;
  attempts: number;
  last_error: string | null;
}

/** An order of one item, pending; confirmed (its payment open at the fake) unless told not to. */
async function order(w: World, { confirm = true } = {}): Promise<string> {
  const buyer = await w.pool.query("insert into settle.buyers (email) values ($1) returning id", [
    `c-${randomUUID()}@x.example`,
  ]);
  const seller = await w.pool.query(
    "insert into settle.sellers (stripe_account_id, name) values ($1, 'S') returning id",
    [`acct_${randomUUID().replaceAll("-", "").slice(0, 16)}`],
  );
  const c = await w.pool.connect();
  let orderId: string;
  try {
    await c.query("begin");
    const o = await c.query(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', 1200) returning id",
      [buyer.rows[0].id],
    );
    orderId = o.rows[0].id;
    await c.query(
      "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, 1200, 0)",
      [orderId, seller.rows[0].id],
    );
    await c.query("commit");
  } finally {
    c.release();
  }
  if (confirm) await confirmOrder(w.deps, platform, orderId);
  return orderId;
}

async function cancellationOf(w: World, orderId: string): Promise<CancellationRow | undefined> {
  const { rows } = await w.pool.query(
    "select id, order_id, payment_id, status, attempts, last_error from settle.payment_cancellations where order_id = $1",
    [orderId],
  );
  return rows[0];
}

const send = (w: World, id: string) => makeSendPaymentCancellation(w.deps)({ id }, noHelpers);
const cancelCalls = (w: World, paymentId: string) =>
  w.hyperswitchFake.requests({ method: "POST", path: `/payments/${paymentId}/cancel` });

test("cancelOrder of a payment_pending order records the cancel with its job; the job cancels the payment once", async (t) => {
  const w = await world(t);
  const orderId = await order(w);
  t.is(w.hyperswitchFake.payment(orderId)?.status, "requires_payment_method");

  await cancelOrder(w.db, platform, orderId);
  const row = await cancellationOf(w, orderId);
  t.like(row, { payment_id: orderId, status: "pending", attempts: 0 });
  const job = await w.pool.query(
    "select task_identifier from graphile_worker.jobs where key = $1 and locked_at is null",
    [`payment_cancellations:${row!.id}`],
  );
  t.is(job.rows[0]?.task_identifier, "payment_cancellations__send", "enqueued with the row");
  t.is(
    cancelCalls(w, orderId).length,
    0,
    "recorded before the call, not calling inside the cancel",
  );

  await send(w, row!.id);
  t.is(w.hyperswitchFake.payment(orderId)?.status, "cancelled");
  const [call] = cancelCalls(w, orderId);
  t.is(call?.headers["idempotency-key"], row!.id, "Idempotency-Key = the row id");
  t.like(await cancellationOf(w, orderId), { status: "cancelled", attempts: 1, last_error: null });

  await send(w, row!.id);
  t.is(cancelCalls(w, orderId).length, 1, "a second run calls nothing");
  const audit = await w.pool.query(
    "select from_status, to_status, actor from settle.state_transitions where entity = 'payment_cancellations' and entity_id = $1 order by id",
    [row!.id],
  );
  t.deepEqual(audit.rows, [
    { from_status: null, to_status: "pending", actor: "settle_platform" },
    { from_status: "pending", to_status: "cancelled", actor: "task:payment_cancellations__send" },
  ]);

  // Hyperswitch's payment_cancelled event echoes our cancel: acknowledged quietly.
  const event = w.hyperswitchFake.events().find((e) => e.eventType === "payment_cancelled")!;
  const stored = await w.pool.query(
    "insert into settle.webhook_events (provider, event_id, event_type, payload) values ('hyperswitch', $1, $2, $3) returning id",
    [event.eventId, event.eventType, event.body],
  );
  await makeProcessWebhook(w.deps)({ id: stored.rows[0].id }, noHelpers);
  const processed = await w.pool.query(
    "select processed_at is not null as done, last_error from settle.webhook_events where id = $1",
    [stored.rows[0].id],
  );
  t.deepEqual(processed.rows[0], { done: true, last_error: null });
});

test("an answer lost after the cancel ran: the retry is refused IR_16, looks the payment up, and records cancelled", async (t) => {
  const w = await world(t);
  const orderId = await order(w);
  await cancelOrder(w.db, platform, orderId);
  const row = (await cancellationOf(w, orderId))!;
  w.hyperswitchFake.inject({
    method: "POST",
    path: `/payments/${orderId}/cancel`,
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  await t.throwsAsync(async () => {
    await send(w, row.id);
  });
  t.is(w.hyperswitchFake.payment(orderId)?.status, "cancelled", "it did run at Hyperswitch");
  const waiting = await cancellationOf(w, orderId);
  t.like(waiting, { status: "pending", attempts: 1 });
  t.regex(waiting!.last_error ?? "", /^waiting: /);

  await send(w, row.id);
  t.like(await cancellationOf(w, orderId), { status: "cancelled", attempts: 2, last_error: null });
  t.is(cancelCalls(w, orderId).length, 2);
});

test("a payment that succeeded before the cancel reached it: failed, for a human; no payment at all: not_needed", async (t) => {
  const w = await world(t);
  const paid = await order(w);
  await cancelOrder(w.db, platform, paid);
  w.hyperswitchFake.settlePayment(paid, { status: "succeeded" });
  const row = (await cancellationOf(w, paid))!;
  await send(w, row.id);
  const failed = await cancellationOf(w, paid);
  t.is(failed?.status, "failed");
  t.regex(
    failed?.last_error ?? "",
    /payment is succeeded at Hyperswitch, the order is cancelled here/,
  );
  t.regex(failed?.last_error ?? "", /IR_16/);

  // Cancelled before confirmOrder: no payment row at Hyperswitch, so no cancellation row either.
  const unconfirmed = await order(w, { confirm: false });
  await cancelOrder(w.db, platform, unconfirmed);
  t.is(await cancellationOf(w, unconfirmed), undefined, "pending -> cancelled records no call");

  // payment_pending whose payment never reached Hyperswitch (a confirm cut short).
  const cutShort = await order(w, { confirm: false });
  await w.pool.query("update settle.orders set status = 'payment_pending' where id = $1", [
    cutShort,
  ]);
  await w.pool.query("update settle.orders set status = 'cancelled' where id = $1", [cutShort]);
  const orphan = (await cancellationOf(w, cutShort))!;
  t.like(orphan, { payment_id: cutShort, status: "pending" }, "plain SQL cancels record it too");
  await send(w, orphan.id);
  t.like(await cancellationOf(w, cutShort), {
    status: "not_needed",
    last_error: "no such payment at Hyperswitch",
  });
});

test("the database guards the cancellation's statuses, and the sweeper re-drives a lost job", async (t) => {
  const w = await world(t);
  const orderId = await order(w);
  await cancelOrder(w.db, platform, orderId);
  const row = (await cancellationOf(w, orderId))!;
  const key = `payment_cancellations:${row.id}`;
  await w.pool.query("delete from graphile_worker._private_jobs where key = $1", [key]);
  const swept = await w.pool.query(
    "select requeued from settle_private.sweep(interval '0 seconds') where kind = 'payment_cancellations'",
  );
  t.is(swept.rows[0].requeued, 1);
  await send(w, row.id);

  const error = await t.throwsAsync(
    w.pool.query("update settle.payment_cancellations set status = 'pending' where id = $1", [
      row.id,
    ]),
  );
  t.is((error as { code?: string }).code, "ILTRN");
  const inserted = await t.throwsAsync(
    w.pool.query(
      "insert into settle.payment_cancellations (order_id, payment_id, status) values ($1, 'x', 'cancelled')",
      [orderId],
    ),
  );
  t.is((inserted as { code?: string }).code, "INITS");
});
