/**
 * Webhooks from the fake to a small local receiver, as Hyperswitch delivers them
 * (psp-facts A4): signed over the exact body, at least once (retried until a 2xx),
 * one event per (object, event_type) with an event_id stable across redeliveries,
 * and on demand duplicated, delayed and reordered.
 */
import test from "ava";
import { createWebhookSender } from "../../../src/psp/fake/webhooks.ts";
import { createEventLog } from "../../../src/psp/hyperswitch/fake/events.ts";
import { createState } from "../../../src/psp/hyperswitch/fake/state.ts";
import {
  parseWebhookEvent,
  verifyWebhookSignature,
} from "../../../src/psp/hyperswitch/webhooks.ts";
import { clientFor, raw, SUCCESS_CARD, startFake, startReceiver } from "./helpers.ts";

test("a completed checkout sends payment_succeeded, signed, with the payment as it now is", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  await clientFor(fake).createPayment("order-w1", { amount: 300, currency: "USD" });
  t.is(fake.events().length, 0, "no event for requires_payment_method");
  fake.settlePayment("order-w1", { status: "succeeded" });

  const [delivery] = await receiver.waitFor(1);
  if (!delivery) throw new Error("no delivery");
  t.is(delivery.headers["content-type"], "application/json");
  t.true(
    verifyWebhookSignature(
      delivery.body,
      delivery.headers["x-webhook-signature-512"],
      fake.webhookSecret,
    ),
  );
  t.false(
    verifyWebhookSignature(
      delivery.body,
      delivery.headers["x-webhook-signature-512"],
      "whsec_wrong",
    ),
  );
  const event = parseWebhookEvent(delivery.body);
  t.like(event, {
    merchant_id: fake.merchantId,
    event_type: "payment_succeeded",
    content: { type: "payment_details" },
  });
  if (event.content.type !== "payment_details") throw new Error("not a payment event");
  t.is(event.content.object.status, "succeeded");
  t.is(event.content.object.updated, fake.payment("order-w1")?.updated ?? "none");
  t.is(event.event_id, fake.events()[0]?.eventId ?? "none");
});

test("declines and refunds send payment_failed, refund_succeeded and refund_failed", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  const client = clientFor(fake);
  await t.throwsAsync(
    client.createPayment("order-w2", {
      amount: 100,
      currency: "USD",
      confirm: true,
      paymentMethodData: { card: { ...SUCCESS_CARD, cardNumber: "4000000000000002" } },
    }),
  );
  await client.createPayment("order-w3", {
    amount: 100,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await client.createRefund("refund-w3a", { paymentId: "order-w3", amount: 40 });
  await client.createRefund("refund-w3b", { paymentId: "order-w3", amount: 60 });
  fake.settleRefund("refund-w3a", { status: "succeeded" });
  fake.settleRefund("refund-w3b", { status: "failed" });

  const received = await receiver.waitFor(4);
  const seen = received
    .map((d) => parseWebhookEvent(d.body))
    .map((e) => `${e.event_type} ${e.content.object.payment_id}`);
  t.deepEqual(seen.sort(), [
    "payment_failed order-w2",
    "payment_succeeded order-w3",
    "refund_failed order-w3",
    "refund_succeeded order-w3",
  ]);
  for (const delivery of received) {
    t.true(
      verifyWebhookSignature(
        delivery.body,
        delivery.headers["x-webhook-signature-512"],
        fake.webhookSecret,
      ),
    );
  }
});

test("at least once: a receiver failing twice gets the same event on the third attempt", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t, (attempt) => (attempt <= 2 ? 500 : 200));
  fake.webhooks.configure({ url: receiver.url, retryDelayMs: 10 });
  await clientFor(fake).createPayment("order-w4", {
    amount: 1,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  const [delivery] = await receiver.waitFor(1);
  await fake.webhooks.drain();
  t.like(fake.webhooks.deliveries()[0], { attempts: 3, lastStatus: 200, delivered: true });
  t.is(parseWebhookEvent(delivery?.body ?? "").event_id, fake.events()[0]?.eventId ?? "none");
});

test("duplicates: the same event_id, body and signature, several times", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url, duplicates: 2 });
  await clientFor(fake).createPayment("order-w5", {
    amount: 1,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  const received = await receiver.waitFor(3);
  t.is(new Set(received.map((d) => d.body)).size, 1);
  t.is(new Set(received.map((d) => d.headers["x-webhook-signature-512"])).size, 1);
  t.is(fake.events().length, 1, "one event, delivered three times");
});

test("delay: nothing arrives before delayMs has passed", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url, delayMs: 400 });
  const emitted = Date.now();
  await clientFor(fake).createPayment("order-w6", {
    amount: 1,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await new Promise((r) => setTimeout(r, 150));
  t.is(receiver.received.length, 0);
  const [delivery] = await receiver.waitFor(1);
  t.true((delivery?.at ?? 0) - emitted >= 390);
});

test("reorder (through the control calls): held events go out newest first on flush", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  const configured = await raw(fake, "POST", "/__fake/webhooks", {
    url: receiver.url,
    reorder: true,
  });
  t.like(configured.json.behaviour, { url: receiver.url, reorder: true });
  const client = clientFor(fake);
  await client.createPayment("order-w7", {
    amount: 100,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await client.createRefund("refund-w7", { paymentId: "order-w7", amount: 100 });
  await raw(fake, "POST", "/__fake/refunds/outcome", {
    refund_id: "refund-w7",
    status: "succeeded",
  });
  await new Promise((r) => setTimeout(r, 100));
  t.is(receiver.received.length, 0, "held until flush");

  t.is((await raw(fake, "POST", "/__fake/webhooks/flush")).status, 200);
  const drained = await raw(fake, "POST", "/__fake/webhooks/drain");
  t.is((drained.json.deliveries as unknown[]).length, 2);
  const order = receiver.received.map((d) => parseWebhookEvent(d.body).event_type);
  t.deepEqual(order, ["refund_succeeded", "payment_succeeded"]);

  const events = await raw(fake, "GET", "/__fake/events");
  t.deepEqual(
    (events.json.events as Array<{ eventType: string }>).map((e) => e.eventType),
    ["payment_succeeded", "refund_succeeded"],
  );
});

test("the event is sent even when the API answer is lost (timeout after the work)", async (t) => {
  const fake = await startFake(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "timeout", afterCommit: true } });
  const client = clientFor(fake, { timeoutMs: 1_000 });
  const call = t.throwsAsync(
    client.createPayment("order-w8", {
      amount: 1,
      currency: "USD",
      confirm: true,
      paymentMethodData: { card: SUCCESS_CARD },
    }),
  );
  const [delivery] = await receiver.waitFor(1);
  t.is(parseWebhookEvent(delivery?.body ?? "").content.object.payment_id, "order-w8");
  t.like(await call, { kind: "unknown" });
});

test("at most one event per (object, event_type), whatever reports the change again", (t) => {
  const sender = createWebhookSender({ name: "test", sign: () => ({}) });
  const log = createEventLog(sender);
  const state = createState({ merchantId: "m", profileId: "p", onChange: () => {} });
  const refund = {
    refund_id: "r",
    payment_id: "p",
    amount: 1,
    currency: "USD",
    status: "succeeded" as const,
    reason: null,
    metadata: null,
    error_code: null,
    error_message: null,
    unified_code: null,
    unified_message: null,
    created_at: state.now(),
    updated_at: state.now(),
    connector: "fauxpay",
    profile_id: "p",
    merchant_connector_id: null,
  };
  t.truthy(log.record(state, { kind: "refund", object: refund }));
  t.is(log.record(state, { kind: "refund", object: refund }), null);
  t.is(
    log.record(state, { kind: "refund", object: { ...refund, status: "pending" } }),
    null,
    "no refund_pending event",
  );
  t.truthy(log.record(state, { kind: "refund", object: { ...refund, status: "failed" } }));
  t.is(log.list().length, 2);
  t.true(
    sender.deliveries().every((d) => d.attempts === 0 && !d.delivered),
    "no URL: kept, not sent",
  );
});
