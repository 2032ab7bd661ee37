/**
 * POST /payments/{payment_id}/cancel, client and fake (payment_cancel.rs): an open
 * payment is cancelled and its payment_cancelled event emitted; a payment in a
 * status the router lists (succeeded, cancelled, processing…) is refused 400 IR_16;
 * an unknown one is 404 HE_02; the body is deny_unknown_fields like every request.
 */
import test from "ava";
import { PspError } from "../../../src/psp/errors.ts";
import { clientFor, startFake } from "./helpers.ts";

async function openPayment(client: ReturnType<typeof clientFor>, id: string) {
  return client.createPayment(id, { amount: 1500, currency: "EUR", customerId: "cus_1" });
}

test("an open payment is cancelled: status cancelled, the reason kept, the key sent, the event emitted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  const created = await openPayment(client, "pay_cancel_1");
  t.is(created.status, "requires_payment_method");

  const cancelled = await client.cancelPayment("row-key-1", "pay_cancel_1", {
    cancellationReason: "order cancelled",
  });
  t.is(cancelled.status, "cancelled");
  t.is(cancelled.payment_id, "pay_cancel_1");
  t.is(fake.payment("pay_cancel_1")?.cancellation_reason, "order cancelled");
  const [request] = fake.requests({ method: "POST", path: "/payments/pay_cancel_1/cancel" });
  t.is(request?.headers["idempotency-key"], "row-key-1");
  t.deepEqual(JSON.parse(request?.body ?? "null"), { cancellation_reason: "order cancelled" });
  t.deepEqual(
    fake
      .events()
      .filter((e) => e.objectId === "pay_cancel_1")
      .map((e) => e.eventType),
    ["payment_cancelled"],
  );
});

test("a replayed cancel, or one of a succeeded payment, is refused 400 IR_16 naming the status", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await openPayment(client, "pay_cancel_2");
  await client.cancelPayment("k", "pay_cancel_2");
  const replay = await t.throwsAsync(client.cancelPayment("k", "pay_cancel_2"), {
    instanceOf: PspError,
  });
  t.like(replay, { kind: "permanent", code: "IR_16", httpStatus: 400 });
  t.regex(replay?.message ?? "", /You cannot cancel this payment because it has status cancelled/);

  await openPayment(client, "pay_cancel_3");
  fake.settlePayment("pay_cancel_3", { status: "succeeded" });
  const paid = await t.throwsAsync(client.cancelPayment("k3", "pay_cancel_3"), {
    instanceOf: PspError,
  });
  t.like(paid, { code: "IR_16", httpStatus: 400 });
  t.regex(paid?.message ?? "", /status succeeded/);
  t.is(fake.payment("pay_cancel_3")?.status, "succeeded", "a refusal changes nothing");
});

test("an unknown payment is 404 HE_02; a bad body is 400 IR_06; no key throws before any I/O", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  const missing = await t.throwsAsync(client.cancelPayment("k", "pay_nowhere"), {
    instanceOf: PspError,
  });
  t.like(missing, { code: "HE_02", httpStatus: 404, kind: "permanent" });

  const raw = await fetch(`${fake.url}/payments/pay_nowhere/cancel`, {
    method: "POST",
    headers: { "api-key": fake.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ reason: "typo" }),
  });
  t.is(raw.status, 400);
  t.like(((await raw.json()) as { error: unknown }).error, { code: "IR_06" });
  const wrongMethod = await fetch(`${fake.url}/payments/pay_nowhere/cancel`, {
    headers: { "api-key": fake.apiKey },
  });
  t.is(wrongMethod.status, 405);

  const before = fake.requests().length;
  await t.throwsAsync(client.cancelPayment("", "pay_nowhere"), { instanceOf: TypeError });
  await t.throwsAsync(client.cancelPayment("k", ""), { instanceOf: TypeError });
  t.is(fake.requests().length, before);
});
