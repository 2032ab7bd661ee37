/**
 * SPEC §5 Subscriptions, driven through the flow, the charge and renewal jobs and
 * the webhook task against the fake Hyperswitch: the first invoice is charged with
 * payment_id = Idempotency-Key = invoice id; paid → active in the same
 * transaction; renewal at period end; a decline → dunning at +1d, +3d, +5d (the
 * job's run_at, our clock), then canceled with the invoice uncollectible.
 */
import test from "ava";
import { makeRenewSubscription } from "../../src/tasks/subscriptions__renew.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import { rejectsWith } from "../support/sql.ts";
import { noHelpers, world } from "../tasks/support.ts";
import {
  activeSubscription,
  charge,
  DAY,
  invoices,
  job,
  newSubscription,
  settleAndDeliver,
  subscription,
} from "./support.ts";

test("createSubscription: incomplete, with its first invoice charged as payment_id = Idempotency-Key = invoice id", async (t) => {
  const w = await world(t);
  const { subId, buyerId } = await newSubscription(w);
  const sub = await subscription(w, subId);
  t.is(sub.status, "incomplete");
  const [invoice, ...more] = await invoices(w, subId);
  t.is(more.length, 0);
  t.like(invoice, { status: "pending", amount: "900", currency: "EUR", attempt_count: 0 });
  t.deepEqual(
    [invoice!.period_start, invoice!.period_end],
    [sub.current_period_start, sub.current_period_end],
  );
  t.is(
    (await job(w, `subscription_invoices:${invoice!.id}`))?.task_identifier,
    "subscription_invoices__charge",
  );

  await charge(w, invoice!.id);
  const posts = w.hyperswitchFake.requests({ method: "POST", path: "/payments" });
  t.is(posts.length, 1);
  t.is(posts[0]!.headers["idempotency-key"], invoice!.id);
  t.like(JSON.parse(posts[0]!.body), {
    payment_id: invoice!.id,
    confirm: true,
    customer_id: buyerId,
    amount: 900,
  });
  t.like((await invoices(w, subId))[0], { status: "pending", attempt_count: 1 });

  // A second run (the job replayed) charges nothing more: the attempt is recorded.
  await charge(w, invoice!.id);
  t.is(w.hyperswitchFake.requests({ method: "POST", path: "/payments" }).length, 1);
});

test("payment succeeded: the invoice paid and the subscription active, in one transaction", async (t) => {
  const w = await world(t);
  const { subId } = await newSubscription(w);
  const [invoice] = await invoices(w, subId);
  await charge(w, invoice!.id);
  t.is((await settleAndDeliver(w, invoice!.id, "succeeded")).outcome, null);

  const { rows } = await w.pool.query(
    `select s.status as sub_status, i.status as invoice_status, i.psp_payment_id,
            s.xmin::text = i.xmin::text as same_transaction
     from settle.subscriptions s join settle.subscription_invoices i on i.subscription_id = s.id
     where s.id = $1`,
    [subId],
  );
  t.deepEqual(rows[0], {
    sub_status: "active",
    invoice_status: "paid",
    psp_payment_id: invoice!.id,
    same_transaction: true,
  });
  // The renewal is waiting for the period end.
  const sub = await subscription(w, subId);
  t.deepEqual((await job(w, `subscriptions:${subId}`))?.run_at, sub.current_period_end);
  // A redelivered event changes nothing.
  const succeeded = w.hyperswitchFake.events().find((e) => e.objectId === invoice!.id)!;
  t.is((await redeliver(w, succeeded.eventId)).rowCount, 1);
  t.like((await invoices(w, subId))[0], { status: "paid", attempt_count: 1 });
});

/**
 * An emitted event stored again under a new event id (a redelivery the dedupe did
 * not catch) and processed: → its row when the outcome was quiet (applied,
 * duplicate, stale), none otherwise.
 */
async function redeliver(w: Awaited<ReturnType<typeof world>>, eventId: string) {
  const event = w.hyperswitchFake.events().find((e) => e.eventId === eventId)!;
  const { rows } = await w.pool.query(
    "insert into settle.webhook_events (provider, event_id, event_type, payload) values ('hyperswitch', $1, $2, $3) returning id",
    [`${event.eventId}-again`, event.eventType, event.body],
  );
  await makeProcessWebhook(w.deps)({ id: rows[0].id }, noHelpers);
  return w.pool.query(
    "select 1 from settle.webhook_events where id = $1 and processed_at is not null and last_error is null",
    [rows[0].id],
  );
}

test("plain SQL cannot make a subscription active without a paid current invoice (SUBGT)", async (t) => {
  const w = await world(t);
  const { subId } = await newSubscription(w);
  await rejectsWith(
    t,
    w.pool.query("update settle.subscriptions set status = 'active' where id = $1", [subId]),
    "SUBGT",
    /cannot be active: no paid invoice covers its period/,
  );
  t.is((await subscription(w, subId)).status, "incomplete");

  // Active and paid: moving its period on without paying the next one is refused too.
  const active = await activeSubscription(w);
  await rejectsWith(
    t,
    w.pool.query(
      "update settle.subscriptions set current_period_start = current_period_end, current_period_end = current_period_end + interval '1 month' where id = $1",
      [active.subId],
    ),
    "SUBGT",
  );
});

test("renewal at period end: the next invoice, and once it is paid the period moves (active -> active)", async (t) => {
  const w = await world(t);
  const { subId } = await activeSubscription(w);
  const before = await subscription(w, subId);
  const renew = makeRenewSubscription(w.deps);

  // Before the period end (our clock), nothing is invoiced.
  w.clock.now = before.current_period_end.getTime() - 60_000;
  await renew({ id: subId }, noHelpers);
  t.is((await invoices(w, subId)).length, 1);

  w.clock.now = before.current_period_end.getTime() + 1_000;
  await renew({ id: subId }, noHelpers);
  await renew({ id: subId }, noHelpers); // replayed: still one invoice for the period
  const [, next, ...more] = await invoices(w, subId);
  t.is(more.length, 0);
  t.like(next, { status: "pending", amount: "900" });
  t.deepEqual(next!.period_start, before.current_period_end);
  t.is((await subscription(w, subId)).status, "active");

  await charge(w, next!.id);
  t.is(
    w.hyperswitchFake.payment(next!.id)?.customer_id,
    (await w.pool.query("select buyer_id from settle.subscriptions where id = $1", [subId])).rows[0]
      .buyer_id,
  );
  await settleAndDeliver(w, next!.id, "succeeded");
  const after = await subscription(w, subId);
  t.is(after.status, "active");
  t.deepEqual(
    [after.current_period_start, after.current_period_end],
    [next!.period_start, next!.period_end],
  );
  const { rows } = await w.pool.query(
    "select from_status, to_status from settle.state_transitions where entity = 'subscriptions' and entity_id = $1 order by id",
    [subId],
  );
  t.deepEqual(
    rows.map((r) => `${r.from_status}->${r.to_status}`),
    ["null->incomplete", "incomplete->active", "active->active"],
  );
  t.deepEqual((await job(w, `subscriptions:${subId}`))?.run_at, after.current_period_end);
});

test("a declined renewal: dunning at +1d, +3d, +5d by run_at, then past_due -> canceled and the invoice uncollectible", async (t) => {
  const w = await world(t);
  const { subId } = await activeSubscription(w);
  const periodEnd = (await subscription(w, subId)).current_period_end.getTime();
  w.clock.now = periodEnd + 1_000;
  await makeRenewSubscription(w.deps)({ id: subId }, noHelpers);
  const invoiceId = (await invoices(w, subId))[1]!.id;
  const key = `subscription_invoices:${invoiceId}`;

  await charge(w, invoiceId);
  const failedAt = w.clock.now;
  t.is((await settleAndDeliver(w, invoiceId, "failed")).outcome, null);
  t.is((await subscription(w, subId)).status, "past_due");

  for (const [retry, days] of [1, 3, 5].entries()) {
    const invoice = (await invoices(w, subId))[1]!;
    const due = failedAt + days * DAY;
    t.like(invoice, { status: "failed", attempt_count: retry + 1 });
    t.is(invoice.next_attempt_at?.getTime(), due, `retry ${retry + 1} at +${days}d`);
    t.is((await job(w, key))?.run_at.getTime(), due);

    // Run early: nothing is charged.
    w.clock.now = due - 60_000;
    await charge(w, invoiceId);
    t.is(w.hyperswitchFake.payment(`${invoiceId}_${retry + 1}`), undefined);

    w.clock.now = due;
    await charge(w, invoiceId);
    const paymentId = `${invoiceId}_${retry + 1}`;
    t.like(w.hyperswitchFake.payment(paymentId), { amount: 900, currency: "EUR" });
    t.like((await invoices(w, subId))[1], { status: "pending", attempt_count: retry + 2 });
    w.clock.now = due + 5_000;
    await settleAndDeliver(w, paymentId, "failed");
  }

  const invoice = (await invoices(w, subId))[1]!;
  t.like(invoice, { status: "uncollectible", next_attempt_at: null });
  t.regex(invoice.last_error ?? "", /^uncollectible after 4 attempts/);
  t.is((await subscription(w, subId)).status, "canceled");
  // The job left behind (its run_at passed in our clock only) finds nothing to charge.
  await charge(w, invoiceId);
  t.is(w.hyperswitchFake.payment(`${invoiceId}_4`), undefined);
  const { rows } = await w.pool.query(
    "select to_status from settle.state_transitions where entity = 'subscriptions' and entity_id = $1 order by id",
    [subId],
  );
  t.deepEqual(rows.map((r) => r.to_status).slice(-2), ["past_due", "canceled"]);
});

test("a retry that succeeds pays the invoice; the earlier attempt's failure, redelivered, is stale", async (t) => {
  const w = await world(t);
  const { subId } = await newSubscription(w);
  const [invoice] = await invoices(w, subId);
  await charge(w, invoice!.id);
  await settleAndDeliver(w, invoice!.id, "failed");
  w.clock.now += DAY;
  await charge(w, invoice!.id);
  // Retry 1 succeeds: the invoice is paid by it and the subscription starts.
  await settleAndDeliver(w, `${invoice!.id}_1`, "succeeded");
  t.like((await invoices(w, subId))[0], { status: "paid", psp_payment_id: `${invoice!.id}_1` });
  t.is((await subscription(w, subId)).status, "active");
  const first = w.hyperswitchFake.events().find((e) => e.objectId === invoice!.id)!;
  t.is(first.eventType, "payment_failed");
  t.is((await redeliver(w, first.eventId)).rowCount, 1);
  t.like((await invoices(w, subId))[0], { status: "paid" });
});

test("an unknown outcome records nothing; the job's retry adopts the payment under the same id", async (t) => {
  const w = await world(t);
  const { subId } = await newSubscription(w);
  const [invoice] = await invoices(w, subId);
  // The payment is made, its answer lost, and the look-up fails too.
  w.hyperswitchFake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  w.hyperswitchFake.inject({
    method: "GET",
    path: "/payments/.*",
    fault: { kind: "status", status: 503 },
  });
  await t.throwsAsync(async () => charge(w, invoice!.id));
  const waiting = (await invoices(w, subId))[0]!;
  t.like(waiting, { status: "pending", attempt_count: 0 });
  t.regex(waiting.last_error ?? "", /^waiting: /);

  await charge(w, invoice!.id);
  t.like((await invoices(w, subId))[0], { status: "pending", attempt_count: 1, last_error: null });
  const posts = w.hyperswitchFake.requests({ method: "POST", path: "/payments" });
  t.deepEqual(
    posts.map((p) => p.headers["idempotency-key"]),
    [invoice!.id, invoice!.id],
  );
  t.is(w.hyperswitchFake.payments().filter((p) => p.payment_id.startsWith(invoice!.id)).length, 1);
});
