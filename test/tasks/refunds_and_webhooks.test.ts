/**
 * The refund safety-net job and webhook processing, against the fake Hyperswitch:
 * a refund stranded in pending is sent once (or adopted when it did reach the PSP);
 * payment and refund events move our rows once, wait when early, and are noted
 * when they cannot apply.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { makeSendRefund } from "../../src/tasks/refunds__send.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import { noHelpers, paidOrder, row, type World, world } from "./support.ts";

/** A payment that exists and succeeded at the fake, for an order of ours. */
async function paymentAtPsp(w: World, orderId: string, amount: number) {
  const created = await w.deps.hyperswitch.createPayment(orderId, { amount, currency: "EUR" });
  w.hyperswitchFake.settlePayment(orderId, { status: "succeeded" });
  return created;
}

async function storeEvent(w: World, payload: unknown): Promise<string> {
  const { rows } = await w.pool.query(
    "insert into settle.webhook_events (provider, event_id, event_type, payload) values ('hyperswitch', $1, $2, $3) returning id",
    [
      (payload as { event_id: string }).event_id,
      (payload as { event_type: string }).event_type,
      JSON.stringify(payload),
    ],
  );
  return rows[0].id;
}

function paymentEvent(orderId: string, type: string, updated: string, amount = 1000) {
  return {
    merchant_id: "merchant_fake",
    event_id: `evt_${randomUUID()}`,
    event_type: type,
    timestamp: updated,
    content: {
      type: "payment_details",
      object: {
        payment_id: orderId,
        merchant_id: "merchant_fake",
        status: type === "payment_succeeded" ? "succeeded" : "failed",
        amount,
        currency: "EUR",
        updated,
        ...(type === "payment_failed"
          ? { error_code: "DC_04", error_message: "card declined" }
          : {}),
      },
    },
  };
}

test("a refund stranded in pending is sent by the job, and a second run changes nothing", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]);
  await paymentAtPsp(w, o.orderId, 1000);
  const { rows } = await w.pool.query(
    "insert into settle.refunds (order_id, amount, reason) values ($1, 300, 'damaged') returning id",
    [o.orderId],
  );
  const id = rows[0].id;
  await makeSendRefund(w.deps)({ id }, noHelpers);
  const r = await row<{ status: string; hyperswitch_refund_id: string }>(w, "refunds", id);
  t.is(r.status, "processing");
  t.is(r.hyperswitch_refund_id, id);
  const sent = w.hyperswitchFake.requests({ method: "POST", path: "/refunds" });
  t.is(sent.length, 1);
  t.like(JSON.parse(sent[0]!.body), { refund_id: id, payment_id: o.orderId, amount: 300 });
  t.is(sent[0]!.headers["idempotency-key"], id);
  await makeSendRefund(w.deps)({ id }, noHelpers);
  t.is(w.hyperswitchFake.requests({ method: "POST", path: "/refunds" }).length, 1);
});

test("a refund that reached the PSP before a crash is adopted, not sent twice", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]);
  await paymentAtPsp(w, o.orderId, 1000);
  const { rows } = await w.pool.query(
    "insert into settle.refunds (order_id, amount) values ($1, 1000) returning id",
    [o.orderId],
  );
  const id = rows[0].id;
  // Phase 2 happened (the fake has it) but our process died before recording it.
  await w.deps.hyperswitch.createRefund(id, { paymentId: o.orderId, amount: 1000 });
  await makeSendRefund(w.deps)({ id }, noHelpers);
  t.is((await row<{ status: string }>(w, "refunds", id)).status, "processing");
  t.is(w.hyperswitchFake.refunds().length, 1);
});

test("while the PSP is unreachable the job fails (to be retried) and the refund stays pending", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]);
  await paymentAtPsp(w, o.orderId, 1000);
  const { rows } = await w.pool.query(
    "insert into settle.refunds (order_id, amount) values ($1, 100) returning id",
    [o.orderId],
  );
  w.hyperswitchFake.inject({
    method: "POST",
    path: "/refunds",
    fault: { kind: "status", status: 503 },
  });
  w.hyperswitchFake.inject({
    method: "GET",
    path: "/refunds/.*",
    fault: { kind: "status", status: 503 },
  });
  await t.throwsAsync(async () => makeSendRefund(w.deps)({ id: rows[0].id }, noHelpers), {
    message: /not sent yet/,
  });
  t.is((await row<{ status: string }>(w, "refunds", rows[0].id)).status, "pending");
});

test("payment events: an early success waits (the job fails), then applies once; duplicates and stale ones are quiet", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]);
  // A second order, still pending: its success overtook confirmOrder.
  const pending = await w.pool.connect();
  let orderId: string;
  try {
    await pending.query("begin");
    const order = await pending.query(
      "insert into settle.orders (buyer_id, currency, total_amount) select buyer_id, 'EUR', 500 from settle.orders where id = $1 returning id",
      [o.orderId],
    );
    orderId = order.rows[0].id;
    await pending.query(
      "insert into settle.order_items (order_id, seller_id, amount) values ($1, $2, 500)",
      [orderId, o.sellerIds[0]],
    );
    await pending.query("commit");
  } finally {
    pending.release();
  }
  const process = makeProcessWebhook(w.deps);
  const succeeded = await storeEvent(
    w,
    paymentEvent(orderId, "payment_succeeded", "2026-11-27T10:00:02Z", 500),
  );
  await t.throwsAsync(async () => process({ id: succeeded }, noHelpers), {
    message: /still pending/,
  });
  const waiting = await row<{ processed_at: Date | null; attempts: number; last_error: string }>(
    w,
    "webhook_events",
    succeeded,
  );
  t.like(waiting, { processed_at: null, attempts: 1 });
  t.regex(waiting.last_error, /^waiting: /);

  await w.pool.query("update settle.orders set status = 'payment_pending' where id = $1", [
    orderId,
  ]);
  await process({ id: succeeded }, noHelpers);
  t.is((await row<{ status: string }>(w, "orders", orderId)).status, "paid");
  const done = await row<{ processed_at: Date | null; last_error: string | null }>(
    w,
    "webhook_events",
    succeeded,
  );
  t.truthy(done.processed_at);
  t.is(done.last_error, null);
  await process({ id: succeeded }, noHelpers);
  const transfers = await w.pool.query(
    "select count(*)::int as n from settle.seller_transfers where order_id = $1",
    [orderId],
  );
  t.is(transfers.rows[0].n, 1);

  const stale = await storeEvent(
    w,
    paymentEvent(orderId, "payment_failed", "2026-11-27T10:00:01Z", 500),
  );
  await process({ id: stale }, noHelpers);
  t.is((await row<{ status: string }>(w, "orders", orderId)).status, "paid");
  t.is((await row<{ last_error: string | null }>(w, "webhook_events", stale)).last_error, null);
});

test("events that cannot apply are acknowledged and noted for a human", async (t) => {
  const w = await world(t);
  const process = makeProcessWebhook(w.deps);
  const notOurs = await storeEvent(
    w,
    paymentEvent("pay_from_elsewhere", "payment_succeeded", "2026-11-27T10:00:00Z"),
  );
  await process({ id: notOurs }, noHelpers);
  t.regex(
    (await row<{ last_error: string }>(w, "webhook_events", notOurs)).last_error,
    /^unknown: payment pay_from_elsewhere is not ours/,
  );

  const dispute = {
    merchant_id: "m",
    event_id: `evt_${randomUUID()}`,
    event_type: "dispute_opened",
    timestamp: "2026-11-27T10:00:00Z",
    content: { type: "dispute_details", object: {} },
  };
  const id = await storeEvent(w, dispute);
  await process({ id }, noHelpers);
  const noted = await row<{ processed_at: Date | null; last_error: string }>(
    w,
    "webhook_events",
    id,
  );
  t.truthy(noted.processed_at);
  t.regex(noted.last_error, /^ignored: /);
});

test("refund events: succeeded takes back the sellers' shares; failed fails the refund", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 600 }, { amount: 400 }]);
  await w.pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || md5(id::text) where order_id = $1",
    [o.orderId],
  );
  const process = makeProcessWebhook(w.deps);
  const refund = async (amount: number) =>
    (
      await w.pool.query(
        "insert into settle.refunds (order_id, amount) values ($1, $2) returning id",
        [o.orderId, amount],
      )
    ).rows[0].id as string;
  const event = (refundId: string, type: string, amount: number) => ({
    merchant_id: "merchant_fake",
    event_id: `evt_${randomUUID()}`,
    event_type: type,
    timestamp: "2026-11-27T10:00:00Z",
    content: {
      type: "refund_details",
      object: {
        refund_id: refundId,
        payment_id: o.orderId,
        amount,
        currency: "EUR",
        status: type === "refund_succeeded" ? "succeeded" : "failed",
        connector: "fake",
        updated_at: "2026-11-27T10:00:00Z",
      },
    },
  });
  const failed = await refund(100);
  await process({ id: await storeEvent(w, event(failed, "refund_failed", 100)) }, noHelpers);
  t.is((await row<{ status: string }>(w, "refunds", failed)).status, "failed");

  const ok = await refund(500);
  await process({ id: await storeEvent(w, event(ok, "refund_succeeded", 500)) }, noHelpers);
  t.is((await row<{ status: string }>(w, "refunds", ok)).status, "succeeded");
  t.is((await row<{ status: string }>(w, "orders", o.orderId)).status, "partially_refunded");
  const reversals = await w.pool.query(
    "select t.seller_id, r.amount::int from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id where r.refund_id = $1 order by r.amount desc",
    [ok],
  );
  t.deepEqual(reversals.rows, [
    { seller_id: o.sellerIds[0], amount: 300 },
    { seller_id: o.sellerIds[1], amount: 200 },
  ]);
});

test("a refund the PSP answers succeeded is applied from the answer; its webhook then changes nothing", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 600 }, { amount: 400 }]);
  await paymentAtPsp(w, o.orderId, 1000);
  await w.pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || md5(id::text) where order_id = $1",
    [o.orderId],
  );
  w.hyperswitchFake.configureRefunds({ mode: "immediate", outcome: "succeeded" });
  w.hyperswitchFake.webhooks.configure({ url: null });
  const { rows } = await w.pool.query(
    "insert into settle.refunds (order_id, amount) values ($1, 500) returning id",
    [o.orderId],
  );
  const id = rows[0].id as string;
  await makeSendRefund(w.deps)({ id }, noHelpers);
  t.like(await row(w, "refunds", id), { status: "succeeded", hyperswitch_refund_id: id });
  t.is((await row<{ status: string }>(w, "orders", o.orderId)).status, "partially_refunded");
  const reversals = async () =>
    (
      await w.pool.query(
        "select t.seller_id, r.amount::int from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id where r.refund_id = $1 order by r.amount desc",
        [id],
      )
    ).rows;
  t.deepEqual(await reversals(), [
    { seller_id: o.sellerIds[0], amount: 300 },
    { seller_id: o.sellerIds[1], amount: 200 },
  ]);
  const trail = await w.pool.query(
    "select from_status, to_status from settle.state_transitions where entity = 'refunds' and entity_id = $1 order by id",
    [id],
  );
  t.deepEqual(
    trail.rows.map((r) => `${r.from_status}->${r.to_status}`),
    ["null->pending", "pending->succeeded"],
  );

  // The webhook the PSP emitted for it arrives afterwards: a duplicate, quietly.
  const emitted = w.hyperswitchFake
    .events()
    .find((e) => e.objectId === id && e.eventType === "refund_succeeded");
  if (!emitted) return t.fail("the fake emitted no refund_succeeded");
  const eventId = await storeEvent(w, JSON.parse(emitted.body));
  await makeProcessWebhook(w.deps)({ id: eventId }, noHelpers);
  t.like(await row(w, "webhook_events", eventId), { last_error: null });
  t.not((await row<{ processed_at: unknown }>(w, "webhook_events", eventId)).processed_at, null);
  t.is((await reversals()).length, 2, "no second set of reversals");
  t.deepEqual(await w.pool.query("select * from ops.money_invariants").then((r) => r.rows), []);
});
