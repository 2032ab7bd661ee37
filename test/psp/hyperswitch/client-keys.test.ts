/**
 * SPEC §1.1: the key of every create is an explicit first parameter, sent as the
 * merchant-chosen id (the real mechanism) and as `Idempotency-Key`; a missing or
 * blank key, or an amount that is not integer minor units, fails before any I/O.
 * Also: the client resolves from tsyringe by its options token, and keeps the api
 * key and card data out of its logs.
 */
import "reflect-metadata";
import { Writable } from "node:stream";
import test from "ava";
import { pino } from "pino";
import { container } from "tsyringe";
import {
  HyperswitchClient,
  HyperswitchClientOptionsToken,
} from "../../../src/psp/hyperswitch/client.ts";
import { clientFor, SUCCESS_CARD, startFake } from "./helpers.ts";

test("createPayment sends the key as payment_id and as the Idempotency-Key header, with the api-key", async (t) => {
  const fake = await startFake(t);
  await clientFor(fake).createPayment("0b9a4c2e-6f3d-4f7a-9d59-1e2f3a4b5c6d", {
    amount: 100,
    currency: "USD",
  });
  const [request] = fake.requests({ method: "POST", path: "/payments" });
  t.is(JSON.parse(request?.body ?? "{}").payment_id, "0b9a4c2e-6f3d-4f7a-9d59-1e2f3a4b5c6d");
  t.is(request?.headers["idempotency-key"], "0b9a4c2e-6f3d-4f7a-9d59-1e2f3a4b5c6d");
  t.is(request?.headers["api-key"], fake.apiKey);
  t.is(request?.headers["content-type"], "application/json");
});

test("createRefund sends the key as refund_id and as the Idempotency-Key header", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  await client.createPayment("order-k", {
    amount: 100,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await client.createRefund("refund-k", {
    paymentId: "order-k",
    amount: 40,
    reason: "requested_by_customer",
    metadata: { refund_row: "refund-k" },
  });
  const [request] = fake.requests({ method: "POST", path: "/refunds" });
  t.deepEqual(JSON.parse(request?.body ?? "{}"), {
    refund_id: "refund-k",
    payment_id: "order-k",
    amount: 40,
    reason: "requested_by_customer",
    metadata: { refund_row: "refund-k" },
  });
  t.is(request?.headers["idempotency-key"], "refund-k");
});

test("an empty, blank or missing key throws before any I/O: the fake records nothing", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  const payment = { amount: 100, currency: "USD" };
  const refund = { paymentId: "order-x", amount: 1 };
  for (const key of ["", "   ", "\t\n", undefined, null] as unknown as string[]) {
    const label = JSON.stringify(key) ?? "undefined";
    await t.throwsAsync(
      client.createPayment(key, payment),
      { instanceOf: TypeError, message: /idempotency key is required/ },
      label,
    );
    await t.throwsAsync(
      client.createRefund(key, refund),
      { instanceOf: TypeError, message: /idempotency key is required/ },
      label,
    );
    await t.throwsAsync(
      client.createPaymentOrAdopt(key, payment),
      { instanceOf: TypeError },
      label,
    );
    await t.throwsAsync(client.createRefundOrAdopt(key, refund), { instanceOf: TypeError }, label);
  }
  await t.throwsAsync(client.getPayment(""), { instanceOf: TypeError });
  await t.throwsAsync(client.getRefund(" "), { instanceOf: TypeError });
  t.deepEqual(fake.requests(), []);
});

test("amounts must be integer minor units; a bigint from an int8 column is accepted", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  for (const amount of [10.5, Number.NaN, 2 ** 53, 2n ** 60n]) {
    await t.throwsAsync(client.createPayment("order-m", { amount, currency: "USD" }), {
      instanceOf: TypeError,
      message: /minor units/,
    });
  }
  t.deepEqual(fake.requests(), []);
  const payment = await client.createPayment("order-m", { amount: 6540n, currency: "USD" });
  t.is(payment.amount, 6540);
});

test("every optional parameter maps to a documented field the strict fake accepts", async (t) => {
  const fake = await startFake(t);
  const payment = await clientFor(fake).createPayment("order-all", {
    amount: 100,
    currency: "EUR",
    customerId: "cus_9",
    description: "order 9",
    confirm: true,
    captureMethod: "automatic",
    paymentMethodType: "credit",
    paymentMethodData: { card: { ...SUCCESS_CARD, cardHolderName: "Ada Lovelace" } },
    returnUrl: "https://shop.example/return",
    authenticationType: "no_three_ds",
    metadata: { order_id: "order-all", attempt: 1 },
    merchantOrderReferenceId: "ref-9",
  });
  t.like(payment, {
    status: "succeeded",
    customer_id: "cus_9",
    description: "order 9",
    return_url: "https://shop.example/return",
  });
  const body = JSON.parse(fake.requests()[0]?.body ?? "{}");
  t.like(body, {
    payment_method: "card",
    payment_method_type: "credit",
    payment_method_data: {
      card: { card_number: SUCCESS_CARD.cardNumber, card_holder_name: "Ada Lovelace" },
    },
    merchant_order_reference_id: "ref-9",
  });
});

test("the client resolves from a tsyringe container through its options token", async (t) => {
  const fake = await startFake(t);
  const child = container.createChildContainer();
  child.register(HyperswitchClientOptionsToken, {
    useValue: {
      baseUrl: fake.url,
      apiKey: fake.apiKey,
      timeoutMs: 2_000,
      logger: pino({ level: "silent" }),
    },
  });
  const client = child.resolve(HyperswitchClient);
  t.true(client instanceof HyperswitchClient);
  t.is(
    (await client.createPayment("order-di", { amount: 1, currency: "USD" })).payment_id,
    "order-di",
  );
});

test("logs name calls and failures but never the api key or the card number", async (t) => {
  const fake = await startFake(t);
  let lines = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines += chunk.toString();
      done();
    },
  });
  const client = new HyperswitchClient({
    baseUrl: fake.url,
    apiKey: fake.apiKey,
    timeoutMs: 2_000,
    logger: pino({ level: "debug" }, sink),
  });
  await client.createPayment("order-log", {
    amount: 1,
    currency: "USD",
    confirm: true,
    paymentMethodData: { card: SUCCESS_CARD },
  });
  await t.throwsAsync(client.createPayment("order-log", { amount: 1, currency: "USD" }));
  t.regex(lines, /hyperswitch call/);
  t.regex(lines, /HE_01/);
  t.false(lines.includes(fake.apiKey));
  t.false(lines.includes(SUCCESS_CARD.cardNumber));
});
