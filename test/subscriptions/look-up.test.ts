/**
 * A subscription charge whose webhook never comes (000035): at its look-up time
 * the subscription_invoices__look_up job GETs the payment at Hyperswitch and
 * applies it through the webhook path's functions, so the subscription moves on
 * as if the webhook had come. The fake Hyperswitch delivers no webhooks here.
 */
import test from "ava";
import { makeLookUpInvoicePayment } from "../../src/tasks/subscription_invoices__look_up.ts";
import { noHelpers, type World, world } from "../tasks/support.ts";
import { charge, DAY, invoices, job, newSubscription, subscription } from "./support.ts";

const MINUTE = 60_000;

const lookUp = (w: World, invoiceId: string) =>
  makeLookUpInvoicePayment(w.deps)({ id: invoiceId }, noHelpers);

const gets = (w: World, paymentId: string) =>
  w.hyperswitchFake.requests({ method: "GET", path: `/payments/${paymentId}` }).length;

/** A new subscription whose first charge Hyperswitch accepted and left open; no webhook will come. */
async function chargedWithoutWebhook(w: World) {
  w.hyperswitchFake.webhooks.configure({ url: null });
  const { subId } = await newSubscription(w);
  const [invoice] = await invoices(w, subId);
  await charge(w, invoice!.id);
  const [sent] = await invoices(w, subId);
  if (sent?.status !== "pending" || sent.attempt_count !== 1)
    throw new Error(`expected a pending invoice with one attempt, got ${JSON.stringify(sent)}`);
  return { subId, invoiceId: invoice!.id };
}

test("a succeeded charge whose webhook never came is found by the look-up: invoice paid, subscription active", async (t) => {
  const w = await world(t);
  const { subId, invoiceId } = await chargedWithoutWebhook(w);
  const queued = await job(w, `subscription_invoices__look_up:${invoiceId}`);
  t.is(queued?.task_identifier, "subscription_invoices__look_up", "queued with the attempt");
  t.true(
    Math.abs(queued!.run_at.getTime() - (w.clock.now + 15 * MINUTE)) < 5_000,
    "at INVOICE_PAYMENT_LOOKUP_AFTER (15m) after the charge",
  );

  w.hyperswitchFake.settlePayment(invoiceId, { status: "succeeded" });
  await w.hyperswitchFake.webhooks.drain();
  t.deepEqual(
    w.hyperswitchFake.webhooks.deliveries().map((d) => [d.type, d.attempts, d.delivered]),
    [["payment_succeeded", 0, false]],
    "the event is emitted, never sent",
  );
  await lookUp(w, invoiceId);
  t.is(gets(w, invoiceId), 0, "not due yet: nothing asked");
  t.like((await invoices(w, subId))[0], { status: "pending" });

  w.clock.now += 16 * MINUTE;
  await lookUp(w, invoiceId);
  t.is(gets(w, invoiceId), 1);
  t.like((await invoices(w, subId))[0], {
    status: "paid",
    psp_payment_id: invoiceId,
    attempt_count: 1,
  });
  const sub = await subscription(w, subId);
  t.is(sub.status, "active");
  t.deepEqual(
    (await job(w, `subscriptions:${subId}`))?.run_at,
    sub.current_period_end,
    "the renewal is scheduled as after a webhook",
  );
  const audit = await w.pool.query(
    "select entity, to_status, actor from settle.state_transitions where entity_id = any($1) and from_status is not null order by id",
    [[invoiceId, subId]],
  );
  t.deepEqual(audit.rows, [
    {
      entity: "subscription_invoices",
      to_status: "paid",
      actor: "task:subscription_invoices__look_up",
    },
    { entity: "subscriptions", to_status: "active", actor: "task:subscription_invoices__look_up" },
  ]);

  // Run again (a duplicate job): settled already, nothing asked or changed.
  await lookUp(w, invoiceId);
  t.is(gets(w, invoiceId), 1);
});

test("a payment still open is looked up again later; its failure then starts dunning as the webhook would", async (t) => {
  const w = await world(t);
  const { subId, invoiceId } = await chargedWithoutWebhook(w);
  w.clock.now += 16 * MINUTE;
  await lookUp(w, invoiceId);
  t.is(gets(w, invoiceId), 1);
  const [still] = await invoices(w, subId);
  t.like(still, { status: "pending", attempt_count: 1 });
  const next = await job(w, `subscription_invoices__look_up:${invoiceId}`);
  t.true(
    Math.abs(next!.run_at.getTime() - (w.clock.now + 15 * MINUTE)) < 5_000,
    "the next look-up is queued",
  );

  w.hyperswitchFake.settlePayment(invoiceId, {
    status: "failed",
    errorCode: "DC_08",
    errorMessage: "Card declined",
  });
  w.clock.now += 16 * MINUTE;
  const failedAt = w.clock.now;
  await lookUp(w, invoiceId);
  const [failed] = await invoices(w, subId);
  t.like(failed, { status: "failed", attempt_count: 1, last_error: "DC_08: Card declined" });
  t.is(failed!.next_attempt_at?.getTime(), failedAt + DAY, "retry 1 at +1d from the failure");
  t.is(
    (await job(w, `subscription_invoices:${invoiceId}`))?.task_identifier,
    "subscription_invoices__charge",
    "the dunning retry is queued",
  );
  t.is((await subscription(w, subId)).status, "incomplete");
});

test("a look-up job that was lost is given back by the sweeper", async (t) => {
  const w = await world(t);
  const { invoiceId } = await chargedWithoutWebhook(w);
  const key = `subscription_invoices__look_up:${invoiceId}`;
  await w.pool.query(
    "update settle.subscription_invoices set look_up_at = now() - interval '1 hour' where id = $1",
    [invoiceId],
  );
  await w.pool.query("delete from graphile_worker._private_jobs where key = $1", [key]);
  t.is(await job(w, key), undefined);

  const { rows } = await w.pool.query(
    "select kind, requeued from settle_private.sweep(interval '1 minute') where kind = 'subscription_invoice_look_ups'",
  );
  t.deepEqual(rows, [{ kind: "subscription_invoice_look_ups", requeued: 1 }]);
  t.is((await job(w, key))?.task_identifier, "subscription_invoices__look_up");
  const again = await w.pool.query(
    "select requeued from settle_private.sweep(interval '1 minute') where kind = 'subscription_invoice_look_ups'",
  );
  t.is(again.rows[0].requeued, 0, "a waiting job is not doubled");
});
