/**
 * The client against the real HTTP fake: each outcome of a call, and each failure
 * with its kind per SPEC §1.2 (retryable: nothing was done; unknown: it may have
 * been done; permanent: a decline or an invalid request), faults injected through
 * the fake's shell.
 */
import test, { type ExecutionContext } from "ava";
import { PspError } from "../../../src/psp/errors.ts";
import {
  MaybeAlreadyDone,
  PaymentDeclined,
  RefundFailed,
} from "../../../src/psp/hyperswitch/errors.ts";
import {
  clientFor,
  closedPort,
  DECLINED_CARD,
  processed,
  SUCCESS_CARD,
  startFake,
} from "./helpers.ts";

async function pspError(t: ExecutionContext, promise: Promise<unknown>): Promise<PspError> {
  const error = await t.throwsAsync(promise, { instanceOf: PspError });
  if (!error) throw new Error("expected a PspError");
  t.is(error.provider, "hyperswitch");
  return error;
}

test("createPayment without confirmation: the payment with its client_secret", async (t) => {
  const fake = await startFake(t);
  const payment = await clientFor(fake).createPayment("order-1", {
    amount: 6540,
    currency: "USD",
    customerId: "cus_1",
  });
  t.like(payment, {
    payment_id: "order-1",
    status: "requires_payment_method",
    amount: 6540,
    currency: "USD",
    customer_id: "cus_1",
  });
  t.regex(payment.client_secret ?? "", /^order-1_secret_/);
  t.truthy(payment.updated);
});

test("createPayment confirmed with a success card: succeeded; getPayment reads it back", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  const payment = await client.createPayment("order-2", {
    amount: 1200,
    currency: "EUR",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
    metadata: { order_id: "order-2" },
  });
  t.like(payment, {
    status: "succeeded",
    amount_received: 1200,
    payment_method: "card",
    metadata: { order_id: "order-2" },
  });
  t.deepEqual(await client.getPayment("order-2"), payment);
});

test("a decline (HTTP 200, status failed) is a permanent PaymentDeclined carrying the payment", async (t) => {
  const fake = await startFake(t);
  const error = await pspError(
    t,
    clientFor(fake).createPayment("order-3", {
      amount: 100,
      currency: "USD",
      confirm: true,
      paymentMethodData: { card: DECLINED_CARD },
    }),
  );
  t.true(error instanceof PaymentDeclined);
  t.like(error, {
    kind: "permanent",
    code: "DC_08",
    message: "Payment declined: Card declined",
    httpStatus: 200,
  });
  t.is((error as PaymentDeclined).payment.status, "failed");
  t.regex(error.requestId ?? "", /^[0-9a-f-]{36}$/);
});

test("an unsupported card is declined too, with the connector's DC_04", async (t) => {
  const fake = await startFake(t);
  const error = await pspError(
    t,
    clientFor(fake).createPayment("order-4", {
      amount: 100,
      currency: "USD",
      confirm: true,
      paymentMethodData: { card: { ...SUCCESS_CARD, cardNumber: "4000000000000101" } },
    }),
  );
  t.true(error instanceof PaymentDeclined);
  t.like(error, { kind: "permanent", code: "DC_04" });
});

test("a replayed payment_id (HE_01) is MaybeAlreadyDone, kind unknown, naming our id", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await client.createPayment("order-5", { amount: 100, currency: "USD" });
  const error = await pspError(
    t,
    client.createPayment("order-5", { amount: 100, currency: "USD" }),
  );
  t.true(error instanceof MaybeAlreadyDone);
  t.like(error, {
    kind: "unknown",
    code: "HE_01",
    httpStatus: 400,
    object: "payment",
    id: "order-5",
  });
  t.regex(error.message, /already exists/);
});

test("refund replays: HE_01 while the amount still fits, IR_13 once it does not; both MaybeAlreadyDone", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await client.createPayment("order-6", {
    amount: 1000,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  const refund = await client.createRefund("refund-6a", {
    paymentId: "order-6",
    amount: 400,
    reason: "requested_by_customer",
  });
  t.like(refund, { refund_id: "refund-6a", payment_id: "order-6", amount: 400, status: "pending" });

  const fits = await pspError(
    t,
    client.createRefund("refund-6a", { paymentId: "order-6", amount: 400 }),
  );
  t.true(fits instanceof MaybeAlreadyDone);
  t.like(fits, { code: "HE_01", kind: "unknown", object: "refund", id: "refund-6a" });

  await client.createRefund("refund-6b", { paymentId: "order-6", amount: 600 });
  const exhausted = await pspError(
    t,
    client.createRefund("refund-6a", { paymentId: "order-6", amount: 400 }),
  );
  t.true(exhausted instanceof MaybeAlreadyDone);
  t.like(exhausted, { code: "IR_13", kind: "unknown" });
});

test("getRefund follows the refund; a refund failed at once is a permanent RefundFailed", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await client.createPayment("order-7", {
    amount: 500,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await client.createRefund("refund-7a", { paymentId: "order-7", amount: 100 });
  fake.settleRefund("refund-7a", { status: "succeeded" });
  t.is((await client.getRefund("refund-7a")).status, "succeeded");

  fake.configureRefunds({ mode: "immediate", outcome: "failed" });
  const error = await pspError(
    t,
    client.createRefund("refund-7b", { paymentId: "order-7", amount: 100 }),
  );
  t.true(error instanceof RefundFailed);
  t.like(error, { kind: "permanent", code: "refund_failed", httpStatus: 200 });
  t.is((error as RefundFailed).refund.status, "failed");
});

test("500 before the work: unknown, with Hyperswitch's code and the request id; nothing was created", async (t) => {
  const fake = await startFake(t);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 500 } });
  const error = await pspError(
    t,
    clientFor(fake).createPayment("order-8", { amount: 100, currency: "USD" }),
  );
  t.like(error, {
    kind: "unknown",
    code: "HE_00",
    httpStatus: 500,
    message: "Something went wrong",
  });
  t.regex(error.requestId ?? "", /^[0-9a-f-]{36}$/);
  t.is(fake.payment("order-8"), undefined);
});

test("500 after the work: unknown, and the payment exists", async (t) => {
  const fake = await startFake(t);
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  const error = await pspError(
    t,
    clientFor(fake).createPayment("order-9", { amount: 100, currency: "USD" }),
  );
  t.is(error.kind, "unknown");
  t.is(fake.payment("order-9")?.status, "requires_payment_method");
});

test("timeout after the work (short timeoutMs): unknown, no HTTP status", async (t) => {
  const fake = await startFake(t);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "timeout", afterCommit: true } });
  const started = Date.now();
  const error = await pspError(
    t,
    clientFor(fake, { timeoutMs: 200 }).createPayment("order-10", { amount: 100, currency: "USD" }),
  );
  t.like(error, { kind: "unknown", httpStatus: null, code: null });
  t.regex(error.message, /no answer within 200 ms/);
  t.true(Date.now() - started < 3_000);
  // The client gave up on its own clock; the fake may finish the work a moment later.
  await processed(fake, 1);
  t.truthy(fake.payment("order-10"));
});

test("connection dropped, before or after the work: unknown either way", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "drop" } });
  const before = await pspError(
    t,
    client.createPayment("order-11a", { amount: 100, currency: "USD" }),
  );
  t.like(before, { kind: "unknown", httpStatus: null });
  t.is(fake.payment("order-11a"), undefined);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "drop", afterCommit: true } });
  const after = await pspError(
    t,
    client.createPayment("order-11b", { amount: 100, currency: "USD" }),
  );
  t.like(after, { kind: "unknown", httpStatus: null });
  t.truthy(fake.payment("order-11b"));
});

test("422 HE_00 (ResourceBusy) and 429 are retryable; 422 IR_05 is permanent", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 422 } });
  const busy = await pspError(
    t,
    client.createPayment("order-12", { amount: 100, currency: "USD" }),
  );
  t.like(busy, { kind: "retryable", code: "HE_00", httpStatus: 422 });

  fake.inject({
    method: "POST",
    path: "/refunds",
    fault: {
      kind: "status",
      status: 429,
      body: { error: { type: "invalid_request", code: "HE_00", message: "too many" } },
    },
  });
  const limited = await pspError(
    t,
    client.createRefund("refund-12", { paymentId: "order-12", amount: 1 }),
  );
  t.like(limited, { kind: "retryable", httpStatus: 429 });

  const invalid = await pspError(
    t,
    client.createPayment("x".repeat(65), { amount: 100, currency: "USD" }),
  );
  t.like(invalid, { kind: "permanent", code: "IR_05", httpStatus: 422 });
});

test("connection refused on a closed port: retryable, no HTTP status", async (t) => {
  const port = await closedPort();
  const client = clientFor({ url: `http://127.0.0.1:${port}`, apiKey: "k" });
  const error = await pspError(
    t,
    client.createPayment("order-13", { amount: 100, currency: "USD" }),
  );
  t.like(error, { kind: "retryable", httpStatus: null, code: null, requestId: null });
  t.regex(error.message, /ECONNREFUSED/);
});

test("invalid requests are permanent: wrong api key (IR_01), bad currency (IR_06), unknown id (HE_02)", async (t) => {
  const fake = await startFake(t);
  const unauthorised = await pspError(
    t,
    clientFor(fake, { apiKey: "snd_wrong" }).createPayment("o", { amount: 1, currency: "USD" }),
  );
  t.like(unauthorised, { kind: "permanent", code: "IR_01", httpStatus: 401 });
  const client = clientFor(fake);
  const currency = await pspError(t, client.createPayment("o", { amount: 1, currency: "usd" }));
  t.like(currency, { kind: "permanent", code: "IR_06", httpStatus: 400 });
  const missing = await pspError(t, client.getPayment("nobody"));
  t.like(missing, { kind: "permanent", code: "HE_02", httpStatus: 404 });
  t.is(await client.findPayment("nobody"), null);
  t.is(await client.findRefund("nobody"), null);
});

test("a 2xx we cannot read is unknown: not JSON, or not a payment", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 200, body: "<html>ok</html>" },
  });
  const html = await pspError(t, client.createPayment("order-14", { amount: 1, currency: "USD" }));
  t.like(html, { kind: "unknown", httpStatus: 200 });
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 200, body: { payment_id: "order-14", status: "teleported" } },
  });
  const odd = await pspError(t, client.createPayment("order-14", { amount: 1, currency: "USD" }));
  t.like(odd, { kind: "unknown", httpStatus: 200 });
});

test("a proxy's non-JSON 502 is unknown and keeps the text; a 200 error body (blocked) is permanent", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: { kind: "status", status: 502, body: "Bad Gateway" },
  });
  const proxy = await pspError(t, client.createPayment("order-15", { amount: 1, currency: "USD" }));
  t.like(proxy, { kind: "unknown", httpStatus: 502, code: null, message: "Bad Gateway" });
  fake.inject({
    method: "POST",
    path: "/payments",
    fault: {
      kind: "status",
      status: 200,
      body: { error: { type: "blocked", code: "HE_03", message: "blocked by rule" } },
    },
  });
  const blocked = await pspError(
    t,
    client.createPayment("order-15", { amount: 1, currency: "USD" }),
  );
  t.like(blocked, { kind: "permanent", code: "HE_03", httpStatus: 200 });
});

test("a base URL with a path prefix keeps it (calls go to <base>/payments)", async (t) => {
  const fake = await startFake(t);
  const error = await pspError(
    t,
    clientFor(fake, { baseUrl: `${fake.url}/proxy` }).createPayment("o", {
      amount: 1,
      currency: "USD",
    }),
  );
  t.like(error, { kind: "permanent", code: "IR_02" });
  t.is(fake.requests()[0]?.path, "/proxy/payments");
});
