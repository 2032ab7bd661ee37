/**
 * "Maybe already done: look it up" (SPEC §1.2, psp-facts A3): createPaymentOrAdopt
 * and createRefundOrAdopt resolve every unknown outcome by GET-ing our id, adopt
 * what is there, and leave retryable and permanent failures alone.
 */
import test, { type ExecutionContext } from "ava";
import { PspError } from "../../../src/psp/errors.ts";
import {
  MaybeAlreadyDone,
  PaymentDeclined,
  RefundFailed,
} from "../../../src/psp/hyperswitch/errors.ts";
import { clientFor, DECLINED_CARD, SUCCESS_CARD, startFake } from "./helpers.ts";

async function pspError(t: ExecutionContext, promise: Promise<unknown>): Promise<PspError> {
  const error = await t.throwsAsync(promise, { instanceOf: PspError });
  if (!error) throw new Error("expected a PspError");
  return error;
}

/**
 * How long the client waits for an answer the fake will never send. Long enough for
 * the fake to have done the work by then, even on a loaded machine, so that the
 * lookup that follows finds it.
 */
const LOST_ANSWER_MS = 1_000;

const calls = (fake: { requests(): Array<{ method: string; path: string }> }) =>
  fake.requests().map((r) => `${r.method} ${r.path}`);

test("a fresh create is not adopted, and makes one call", async (t) => {
  const fake = await startFake(t);
  const { value, adopted } = await clientFor(fake).createPaymentOrAdopt("order-a1", {
    amount: 100,
    currency: "USD",
  });
  t.false(adopted);
  t.is(value.payment_id, "order-a1");
  t.deepEqual(calls(fake), ["POST /payments"]);
});

test("500 after the work: the helper finds the payment by our id and adopts it", async (t) => {
  const fake = await startFake(t);
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  const { value, adopted } = await clientFor(fake).createPaymentOrAdopt("order-a2", {
    amount: 250,
    currency: "EUR",
  });
  t.true(adopted);
  t.like(value, { payment_id: "order-a2", amount: 250, currency: "EUR" });
  t.regex(value.client_secret ?? "", /^order-a2_secret_/, "the buyer still gets the client_secret");
  t.deepEqual(calls(fake), ["POST /payments", "GET /payments/order-a2"]);
});

test("timeout after the work: adopted too", async (t) => {
  const fake = await startFake(t);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "timeout", afterCommit: true } });
  const client = clientFor(fake, { timeoutMs: LOST_ANSWER_MS });
  const { adopted } = await client.createPaymentOrAdopt("order-a3", {
    amount: 100,
    currency: "USD",
  });
  t.true(adopted);
});

test("a replay answered HE_01 (the first call's answer was lost) is adopted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  const params = {
    amount: 900,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  };
  await client.createPayment("order-a4", params);
  const { value, adopted } = await client.createPaymentOrAdopt("order-a4", params);
  t.true(adopted);
  t.is(value.status, "succeeded");
});

test("an adopted failed payment is still a PaymentDeclined", async (t) => {
  const fake = await startFake(t);
  const params = {
    amount: 100,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: DECLINED_CARD },
  };
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "drop", afterCommit: true } });
  const error = await pspError(t, clientFor(fake).createPaymentOrAdopt("order-a5", params));
  t.true(error instanceof PaymentDeclined);
  t.like(error, { kind: "permanent", code: "DC_08" });
});

test("unknown and nothing found: the original unknown error, to retry later with the same key", async (t) => {
  const fake = await startFake(t);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 503 } });
  const error = await pspError(
    t,
    clientFor(fake).createPaymentOrAdopt("order-a6", { amount: 100, currency: "USD" }),
  );
  t.like(error, { kind: "unknown", httpStatus: 503 });
  t.deepEqual(calls(fake), ["POST /payments", "GET /payments/order-a6"]);
});

test("a failed lookup leaves the outcome unknown: the create's error stands", async (t) => {
  const fake = await startFake(t);
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  fake.inject({ method: "GET", path: "/payments/.*", fault: { kind: "drop" } });
  const error = await pspError(
    t,
    clientFor(fake).createPaymentOrAdopt("order-a7", { amount: 100, currency: "USD" }),
  );
  t.like(error, { kind: "unknown", httpStatus: 500, code: "HE_00" });
});

test("retryable and permanent failures are not looked up", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 422 } });
  const busy = await pspError(
    t,
    client.createPaymentOrAdopt("order-a8", { amount: 100, currency: "USD" }),
  );
  t.is(busy.kind, "retryable");
  const invalid = await pspError(
    t,
    client.createPaymentOrAdopt("order-a8", { amount: 100, currency: "usd" }),
  );
  t.is(invalid.kind, "permanent");
  t.deepEqual(calls(fake), ["POST /payments", "POST /payments"]);
});

test("an existing payment with other terms is not adopted: permanent, the key was reused", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await client.createPayment("order-a9", { amount: 100, currency: "USD" });
  const error = await pspError(
    t,
    client.createPaymentOrAdopt("order-a9", { amount: 101, currency: "USD" }),
  );
  t.like(error, { kind: "permanent", code: "HE_01" });
  t.regex(error.message, /different terms/);
});

async function paid(fake: Parameters<typeof clientFor>[0], paymentId: string, amount: number) {
  await clientFor(fake).createPayment(paymentId, {
    amount,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
}

test("refund replay of a full refund (IR_13 first) is adopted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await paid(fake, "order-r1", 500);
  await client.createRefund("refund-r1", { paymentId: "order-r1", amount: 500 });
  const { value, adopted } = await client.createRefundOrAdopt("refund-r1", {
    paymentId: "order-r1",
    amount: 500,
  });
  t.true(adopted);
  t.like(value, { refund_id: "refund-r1", amount: 500, status: "pending" });
});

test("refund replay of a partial refund (HE_01) is adopted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await paid(fake, "order-r2", 500);
  await client.createRefund("refund-r2", { paymentId: "order-r2", amount: 100 });
  const { adopted } = await client.createRefundOrAdopt("refund-r2", {
    paymentId: "order-r2",
    amount: 100,
  });
  t.true(adopted);
});

test("an IR_13 whose refund_id does not exist was no replay: permanent, the amount exceeds what is left", async (t) => {
  const fake = await startFake(t);
  await paid(fake, "order-r3", 500);
  const error = await pspError(
    t,
    clientFor(fake).createRefundOrAdopt("refund-r3", { paymentId: "order-r3", amount: 501 }),
  );
  t.false(error instanceof MaybeAlreadyDone);
  t.like(error, { kind: "permanent", code: "IR_13", httpStatus: 400 });
  t.deepEqual(calls(fake).slice(-2), ["POST /refunds", "GET /refunds/refund-r3"]);
});

test("refund with a lost answer (timeout after the work) is adopted; a failed one is RefundFailed", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake, { timeoutMs: LOST_ANSWER_MS });
  await paid(fake, "order-r4", 500);
  fake.inject({ method: "POST", path: "/refunds", fault: { kind: "timeout", afterCommit: true } });
  const { adopted } = await client.createRefundOrAdopt("refund-r4a", {
    paymentId: "order-r4",
    amount: 100,
  });
  t.true(adopted);

  fake.configureRefunds({ mode: "immediate", outcome: "failed" });
  fake.inject({
    method: "POST",
    path: "/refunds",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  const error = await pspError(
    t,
    client.createRefundOrAdopt("refund-r4b", { paymentId: "order-r4", amount: 100 }),
  );
  t.true(error instanceof RefundFailed);
});

test("a refund_id already used for another payment or amount is not adopted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await paid(fake, "order-r5", 500);
  await paid(fake, "order-r6", 500);
  await client.createRefund("refund-r5", { paymentId: "order-r5", amount: 100 });
  const otherPayment = await pspError(
    t,
    client.createRefundOrAdopt("refund-r5", { paymentId: "order-r6", amount: 100 }),
  );
  t.like(otherPayment, { kind: "permanent" });
  t.regex(otherPayment.message, /different terms/);
  const otherAmount = await pspError(
    t,
    client.createRefundOrAdopt("refund-r5", { paymentId: "order-r5", amount: 50 }),
  );
  t.like(otherAmount, { kind: "permanent" });
});
