/**
 * The fake Hyperswitch over plain HTTP, without our client: what any HTTP caller
 * sees. Payments by merchant-chosen id, test cards, the buyer completing checkout,
 * refunds and their checks in the router's order.
 */
import test from "ava";
import { raw, startFake, wireCard } from "./helpers.ts";

test("a new payment_id is created: 200 with a client_secret, readable with GET", async (t) => {
  const fake = await startFake(t);
  const created = await raw(fake, "POST", "/payments", {
    payment_id: "order_1",
    amount: 6540,
    currency: "USD",
  });
  t.is(created.status, 200);
  t.like(created.json, {
    payment_id: "order_1",
    status: "requires_payment_method",
    amount: 6540,
    currency: "USD",
  });
  t.regex(String(created.json.client_secret), /^order_1_secret_\w+$/);

  const read = await raw(fake, "GET", "/payments/order_1");
  t.is(read.status, 200);
  t.deepEqual(read.json, created.json);
});

test("a duplicate payment_id is 400 HE_01 with a reason, whatever the body; the original is kept", async (t) => {
  const fake = await startFake(t);
  await raw(fake, "POST", "/payments", { payment_id: "order_2", amount: 100, currency: "EUR" });
  const again = await raw(fake, "POST", "/payments", {
    payment_id: "order_2",
    amount: 999,
    currency: "USD",
  });
  t.is(again.status, 400);
  t.like(again.json.error, {
    type: "invalid_request",
    code: "HE_01",
    message: "The payment with the specified payment_id already exists in our records",
  });
  t.regex(String(again.json.error?.reason), /order_2.*already exists/);
  t.like(fake.payment("order_2"), { amount: 100, currency: "EUR" });
});

test("a payment without payment_id gets a generated pay_ id", async (t) => {
  const fake = await startFake(t);
  const created = await raw(fake, "POST", "/payments", { amount: 100, currency: "USD" });
  t.is(created.status, 200);
  t.regex(String(created.json.payment_id), /^pay_[A-Za-z0-9]{20}$/);
});

test("payment_id must be 1-64 characters of [A-Za-z0-9_-]: 422 IR_05 otherwise", async (t) => {
  const fake = await startFake(t);
  for (const paymentId of ["", "a".repeat(65), "order/1", "ordre é"]) {
    const answer = await raw(fake, "POST", "/payments", {
      payment_id: paymentId,
      amount: 1,
      currency: "USD",
    });
    t.is(answer.status, 422, paymentId);
    t.is(answer.json.error?.code, "IR_05", paymentId);
  }
  const longest = await raw(fake, "POST", "/payments", {
    payment_id: "A-_9".repeat(16),
    amount: 1,
    currency: "USD",
  });
  t.is(longest.status, 200);
  t.is(fake.payments().length, 1);
});

test("amount and currency are required: 400 IR_04", async (t) => {
  const fake = await startFake(t);
  const noAmount = await raw(fake, "POST", "/payments", { payment_id: "p", currency: "USD" });
  t.like(noAmount, { status: 400 });
  t.like(noAmount.json.error, { code: "IR_04", message: "Missing required param: amount" });
  const noCurrency = await raw(fake, "POST", "/payments", { payment_id: "p", amount: 1 });
  t.like(noCurrency.json.error, { code: "IR_04", message: "Missing required param: currency" });
  t.is(fake.payments().length, 0);
});

test("confirm with a test card: success cards succeed, decline cards fail with HTTP 200", async (t) => {
  const fake = await startFake(t);
  const cases: Array<[string, string, string | null]> = [
    ["4242424242424242", "succeeded", null],
    ["4111111111111111", "succeeded", null],
    ["5555555555554444", "succeeded", null],
    ["4000000000000002", "failed", "Payment declined: Card declined"],
    ["5105105105105100", "failed", "Payment declined: Card declined"],
    ["4000000000009995", "failed", "Payment declined: Insufficient funds"],
    ["4000000000009987", "failed", "Payment declined: Lost card"],
    ["4000000000009979", "failed", "Payment declined: Stolen card"],
    ["4000000000000101", "failed", "Card not supported. Please use test cards"],
  ];
  for (const [index, [card, status, message]] of cases.entries()) {
    const answer = await raw(fake, "POST", "/payments", {
      payment_id: `card_${index}`,
      amount: 500,
      currency: "USD",
      confirm: true,
      payment_method: "card",
      payment_method_data: wireCard(card),
    });
    t.is(answer.status, 200, card);
    t.is(answer.json.status, status, card);
    t.is(answer.json.error_message ?? null, message, card);
    t.is(answer.json.amount_received ?? null, status === "succeeded" ? 500 : null, card);
    t.false(answer.text.includes(card), "the card number is never echoed");
  }
});

test("a card without confirm waits for confirmation; 3DS waits for the customer", async (t) => {
  const fake = await startFake(t);
  const unconfirmed = await raw(fake, "POST", "/payments", {
    payment_id: "p_unconfirmed",
    amount: 1,
    currency: "USD",
    payment_method_data: wireCard("4242424242424242"),
  });
  t.is(unconfirmed.json.status, "requires_confirmation");
  const threeDs = await raw(fake, "POST", "/payments", {
    payment_id: "p_3ds",
    amount: 1,
    currency: "USD",
    confirm: true,
    payment_method_data: wireCard("4000003800000446"),
  });
  t.is(threeDs.json.status, "requires_customer_action");
  t.like(threeDs.json.next_action, { type: "redirect_to_url" });
});

test("the buyer completing checkout (control call) moves the payment and its updated time", async (t) => {
  const fake = await startFake(t);
  const created = await raw(fake, "POST", "/payments", {
    payment_id: "p_later",
    amount: 700,
    currency: "USD",
  });
  const done = await raw(fake, "POST", "/__fake/payments/outcome", {
    payment_id: "p_later",
    status: "succeeded",
  });
  t.is(done.status, 200);
  t.like(done.json, { status: "succeeded", amount_received: 700 });
  t.true(String(done.json.updated) > String(created.json.updated));
  const read = await raw(fake, "GET", "/payments/p_later");
  t.is(read.json.status, "succeeded");

  const twice = await raw(fake, "POST", "/__fake/payments/outcome", {
    payment_id: "p_later",
    status: "failed",
  });
  t.is(twice.status, 400, "a terminal payment cannot change");
});

test("unknown payment or refund: 404 HE_02", async (t) => {
  const fake = await startFake(t);
  const payment = await raw(fake, "GET", "/payments/nope");
  t.is(payment.status, 404);
  t.like(payment.json.error, { code: "HE_02", message: "Payment does not exist in our records" });
  const refund = await raw(fake, "GET", "/refunds/nope");
  t.is(refund.status, 404);
  t.like(refund.json.error, { code: "HE_02", message: "Refund does not exist in our records." });
});

async function paidPayment(fake: Parameters<typeof raw>[0], paymentId: string, amount: number) {
  const answer = await raw(fake, "POST", "/payments", {
    payment_id: paymentId,
    amount,
    currency: "EUR",
    confirm: true,
    payment_method_data: wireCard("4242424242424242"),
  });
  if (answer.json.status !== "succeeded") throw new Error(`setup failed: ${answer.text}`);
}

test("a refund is pending on create, then settled by the connector; GET /refunds/{id} follows", async (t) => {
  const fake = await startFake(t);
  await paidPayment(fake, "p_ref", 1000);
  const created = await raw(fake, "POST", "/refunds", {
    payment_id: "p_ref",
    refund_id: "r_1",
    amount: 400,
    reason: "requested_by_customer",
  });
  t.is(created.status, 200);
  t.like(created.json, {
    refund_id: "r_1",
    payment_id: "p_ref",
    amount: 400,
    currency: "EUR",
    status: "pending",
  });

  const settled = await raw(fake, "POST", "/__fake/refunds/outcome", {
    refund_id: "r_1",
    status: "succeeded",
  });
  t.like(settled.json, { status: "succeeded" });
  const read = await raw(fake, "GET", "/refunds/r_1");
  t.like(read.json, { status: "succeeded" });
  t.true(String(read.json.updated_at) > String(created.json.updated_at));
});

test("refund checks run in the router's order: HE_02, IR_14, IR_05, IR_13, then HE_01", async (t) => {
  const fake = await startFake(t);
  const refund = (body: Record<string, unknown>) => raw(fake, "POST", "/refunds", body);

  t.like((await refund({ payment_id: "missing", refund_id: "r", amount: 1 })).json.error, {
    code: "HE_02",
  });

  await raw(fake, "POST", "/payments", { payment_id: "p_open", amount: 100, currency: "EUR" });
  const notPaid = await refund({ payment_id: "p_open", refund_id: "r", amount: 1 });
  t.is(notPaid.status, 400);
  t.is(notPaid.json.error?.code, "IR_14");
  t.regex(String(notPaid.json.error?.message), /status of requires_payment_method/);

  await paidPayment(fake, "p_paid", 100);
  const zero = await refund({ payment_id: "p_paid", refund_id: "r0", amount: 0 });
  t.is(zero.status, 422);
  t.is(zero.json.error?.code, "IR_05");

  const tooMuch = await refund({ payment_id: "p_paid", refund_id: "r_big", amount: 101 });
  t.is(tooMuch.status, 400);
  t.like(tooMuch.json.error, {
    code: "IR_13",
    message: "The refund amount exceeds the amount captured",
  });

  t.is((await refund({ payment_id: "p_paid", refund_id: "r_a", amount: 60 })).status, 200);
  // Replay while 40 remain: the amount fits, so the duplicate check answers.
  const replaySmall = await refund({ payment_id: "p_paid", refund_id: "r_a", amount: 40 });
  t.like(replaySmall.json.error, {
    code: "HE_01",
    message: "Duplicate refund request. Refund already attempted with the refund ID",
  });
  // Replay of the same 60 while only 40 remain: IR_13 comes first, not HE_01.
  const replaySame = await refund({ payment_id: "p_paid", refund_id: "r_a", amount: 60 });
  t.is(replaySame.json.error?.code, "IR_13");
  t.is(fake.refunds().length, 1);
});

test("failed refunds free their amount; an omitted amount refunds what was captured", async (t) => {
  const fake = await startFake(t);
  await paidPayment(fake, "p_free", 300);
  await raw(fake, "POST", "/refunds", { payment_id: "p_free", refund_id: "r_fail", amount: 300 });
  await raw(fake, "POST", "/__fake/refunds/outcome", { refund_id: "r_fail", status: "failed" });
  const full = await raw(fake, "POST", "/refunds", { payment_id: "p_free", refund_id: "r_full" });
  t.is(full.status, 200);
  t.is(full.json.amount, 300);
  const more = await raw(fake, "POST", "/refunds", {
    payment_id: "p_free",
    refund_id: "r_more",
    amount: 1,
  });
  t.is(more.json.error?.code, "IR_13");
});

test("refund settlement policy: immediate answers settled, after_delay settles on its own", async (t) => {
  const fake = await startFake(t);
  await paidPayment(fake, "p_policy", 500);
  await raw(fake, "POST", "/__fake/refunds/settlement", { mode: "immediate", outcome: "failed" });
  const immediate = await raw(fake, "POST", "/refunds", {
    payment_id: "p_policy",
    refund_id: "r_now",
    amount: 100,
  });
  t.like(immediate.json, { status: "failed", error_code: "refund_failed" });

  fake.configureRefunds({ mode: "after_delay", outcome: "succeeded", delayMs: 30 });
  const delayed = await raw(fake, "POST", "/refunds", {
    payment_id: "p_policy",
    refund_id: "r_later",
    amount: 100,
  });
  t.is(delayed.json.status, "pending");
  await new Promise((r) => setTimeout(r, 120));
  t.is(fake.refund("r_later")?.status, "succeeded");
});

test("/__fake/reset forgets payments, refunds and events", async (t) => {
  const fake = await startFake(t);
  await paidPayment(fake, "p_reset", 100);
  t.is(fake.events().length, 1);
  const reset = await raw(fake, "POST", "/__fake/reset");
  t.is(reset.status, 200);
  t.is(fake.payments().length, 0);
  t.is(fake.events().length, 0);
  t.is((await raw(fake, "GET", "/payments/p_reset")).status, 404);
});
