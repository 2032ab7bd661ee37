/**
 * Contract: the fake against the documented Hyperswitch facts
 * (/work/shared/reference/psp-facts.md A1-A4). Each expectation below is a fact
 * there, so a drift of the fake from the real wire format fails here, not in
 * production. Exact bodies are compared whole where the facts give them whole.
 */
import test from "ava";
import { PaymentSchema, RefundSchema } from "../../../src/psp/hyperswitch/types.ts";
import { raw, startFake, wireCard } from "./helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test("A1: no api-key, or a wrong one, is 401 IR_01 with the router's body", async (t) => {
  const fake = await startFake(t);
  const expected = {
    error: {
      type: "invalid_request",
      message: "API key not provided or invalid API key used",
      code: "IR_01",
    },
  };
  for (const apiKey of [undefined, "snd_wrong"]) {
    const payment = await raw(
      fake,
      "POST",
      "/payments",
      { amount: 1, currency: "USD" },
      { "api-key": apiKey },
    );
    t.is(payment.status, 401);
    t.deepEqual(payment.json, expected);
    const read = await raw(fake, "GET", "/payments/x", undefined, { "api-key": apiKey });
    t.is(read.status, 401);
  }
  t.is(fake.payments().length, 0);
});

test("A1: an unknown body field is 400 IR_06 under `error_type`, not `type`", async (t) => {
  const fake = await startFake(t);
  const answer = await raw(fake, "POST", "/payments", {
    payment_id: "p",
    amount: 1,
    currency: "USD",
    colour: "red",
  });
  t.is(answer.status, 400);
  t.deepEqual(Object.keys(answer.json.error ?? {}).sort(), ["code", "error_type", "message"]);
  t.is(answer.json.error?.error_type, "invalid_request");
  t.is(answer.json.error?.code, "IR_06");
  t.regex(String(answer.json.error?.message), /^Json deserialize error: unknown field `colour`/);
  t.is(fake.payments().length, 0);
});

test("A1/A2: every parser failure is the same 400 IR_06 shape, payments and refunds alike", async (t) => {
  const fake = await startFake(t);
  const cases: Array<[string, string | Record<string, unknown>, RegExp]> = [
    ["/payments", "{not json", /^Json deserialize error: /],
    ["/payments", "", /^Json deserialize error: /],
    ["/payments", "[1,2]", /^Json deserialize error: invalid type/],
    ["/payments", { amount: "100", currency: "USD" }, /^Json deserialize error: .*amount/],
    ["/payments", { amount: 1, currency: "usd" }, /^Json deserialize error: .*currency/],
    [
      "/payments",
      {
        amount: 1,
        currency: "USD",
        payment_method_data: { card: { ...wireCard("4242424242424242").card, pin: "1" } },
      },
      /^Json deserialize error: unknown field `pin`/,
    ],
    ["/refunds", { payment_id: "p", refund_id: "r", amount: 1, note: "x" }, /unknown field `note`/],
    ["/refunds", { refund_id: "r", amount: 1 }, /missing field `payment_id`/],
  ];
  for (const [path, body, message] of cases) {
    const answer = await raw(fake, "POST", path, body);
    const label = `${path} ${typeof body === "string" ? body : JSON.stringify(body)}`;
    t.is(answer.status, 400, label);
    t.like(answer.json.error, { error_type: "invalid_request", code: "IR_06" }, label);
    t.false("type" in (answer.json.error ?? {}), label);
    t.regex(String(answer.json.error?.message), message, label);
  }
});

test("A1: the body is deserialized before authentication, which precedes every business rule", async (t) => {
  const fake = await startFake(t);
  const badBodyNoKey = await raw(fake, "POST", "/payments", "{", { "api-key": undefined });
  t.is(badBodyNoKey.json.error?.code, "IR_06");
  await raw(fake, "POST", "/payments", { payment_id: "taken", amount: 1, currency: "USD" });
  const duplicateNoKey = await raw(
    fake,
    "POST",
    "/payments",
    { payment_id: "taken", amount: 1, currency: "USD" },
    { "api-key": undefined },
  );
  t.is(duplicateNoKey.status, 401, "an unauthenticated caller learns nothing about existing ids");
});

test("A1: normal errors carry `type`, `message`, `code` (and `reason` for a duplicate payment)", async (t) => {
  const fake = await startFake(t);
  await raw(fake, "POST", "/payments", { payment_id: "dup", amount: 1, currency: "USD" });
  const duplicate = await raw(fake, "POST", "/payments", {
    payment_id: "dup",
    amount: 1,
    currency: "USD",
  });
  t.deepEqual(duplicate.json, {
    error: {
      type: "invalid_request",
      message: "The payment with the specified payment_id already exists in our records",
      code: "HE_01",
      reason: "PaymentId(dup) already exists",
    },
  });
  const missing = await raw(fake, "GET", "/payments/absent");
  t.deepEqual(missing.json, {
    error: {
      type: "invalid_request",
      message: "Payment does not exist in our records",
      code: "HE_02",
    },
  });
});

test("A1: status and code of each error our flows meet", async (t) => {
  const fake = await startFake(t);
  await raw(fake, "POST", "/payments", {
    payment_id: "paid",
    amount: 100,
    currency: "USD",
    confirm: true,
    payment_method_data: wireCard("4242424242424242"),
  });
  await raw(fake, "POST", "/payments", { payment_id: "open", amount: 100, currency: "USD" });
  await raw(fake, "POST", "/refunds", { payment_id: "paid", refund_id: "r1", amount: 50 });
  const table: Array<[string, string, unknown, number, string]> = [
    ["POST", "/payments", { payment_id: "x".repeat(65), amount: 1, currency: "USD" }, 422, "IR_05"],
    ["POST", "/payments", { payment_id: "paid", amount: 1, currency: "USD" }, 400, "HE_01"],
    ["GET", "/payments/none", undefined, 404, "HE_02"],
    ["POST", "/refunds", { payment_id: "none", refund_id: "r", amount: 1 }, 404, "HE_02"],
    ["POST", "/refunds", { payment_id: "open", refund_id: "r", amount: 1 }, 400, "IR_14"],
    ["POST", "/refunds", { payment_id: "paid", refund_id: "r", amount: -5 }, 422, "IR_05"],
    ["POST", "/refunds", { payment_id: "paid", refund_id: "r", amount: 51 }, 400, "IR_13"],
    ["POST", "/refunds", { payment_id: "paid", refund_id: "r1", amount: 60 }, 400, "IR_13"],
    ["POST", "/refunds", { payment_id: "paid", refund_id: "r1", amount: 10 }, 400, "HE_01"],
    [
      "POST",
      "/refunds",
      { payment_id: "paid", refund_id: "r".repeat(65), amount: 1 },
      422,
      "IR_05",
    ],
    ["GET", "/refunds/none", undefined, 404, "HE_02"],
    ["GET", "/nowhere", undefined, 404, "IR_02"],
    ["DELETE", "/payments", undefined, 405, "IR_03"],
  ];
  for (const [method, path, body, status, code] of table) {
    const answer = await raw(fake, method, path, body);
    const label = `${method} ${path} ${JSON.stringify(body)}`;
    t.is(answer.status, status, label);
    t.like(answer.json.error, { type: "invalid_request", code }, label);
  }
});

test("A1: IR_12 after the default 10 refund attempts on one payment", async (t) => {
  const fake = await startFake(t);
  await raw(fake, "POST", "/payments", {
    payment_id: "many",
    amount: 100,
    currency: "USD",
    confirm: true,
    payment_method_data: wireCard("4242424242424242"),
  });
  for (let i = 0; i < 10; i++) {
    t.is(
      (await raw(fake, "POST", "/refunds", { payment_id: "many", refund_id: `r${i}`, amount: 1 }))
        .status,
      200,
    );
  }
  const eleventh = await raw(fake, "POST", "/refunds", {
    payment_id: "many",
    refund_id: "r10",
    amount: 1,
  });
  t.like(eleventh, { status: 400 });
  t.like(eleventh.json.error, { code: "IR_12", message: "Reached maximum refund attempts" });
});

test("A1: every answer carries a fresh x-request-id and is JSON", async (t) => {
  const fake = await startFake(t);
  const answers = [
    await raw(fake, "POST", "/payments", { payment_id: "h1", amount: 1, currency: "USD" }),
    await raw(fake, "POST", "/payments", { payment_id: "h1", amount: 1, currency: "USD" }),
    await raw(fake, "POST", "/payments", "{"),
    await raw(fake, "GET", "/payments/h1", undefined, { "api-key": undefined }),
    await raw(fake, "GET", "/unknown"),
  ];
  const ids = answers.map((a) => a.headers.get("x-request-id") ?? "");
  for (const [i, id] of ids.entries()) t.regex(id, UUID, `answer ${i}`);
  t.is(new Set(ids).size, ids.length);
  for (const answer of answers)
    t.regex(answer.headers.get("content-type") ?? "", /^application\/json/);
});

test("A1: injected faults answer as Hyperswitch would: 500 `api` HE_00, 422 ResourceBusy, with x-request-id", async (t) => {
  const fake = await startFake(t);
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 500 } });
  fake.inject({ method: "POST", path: "/payments", fault: { kind: "status", status: 422 } });
  const internal = await raw(fake, "POST", "/payments", { amount: 1, currency: "USD" });
  t.is(internal.status, 500);
  t.deepEqual(internal.json, {
    error: { type: "api", message: "Something went wrong", code: "HE_00" },
  });
  t.regex(internal.headers.get("x-request-id") ?? "", UUID);
  const busy = await raw(fake, "POST", "/payments", { amount: 1, currency: "USD" });
  t.is(busy.status, 422);
  t.deepEqual(busy.json, {
    error: {
      type: "invalid_request",
      message: "There was an issue processing the webhook body",
      code: "HE_00",
    },
  });
});

test("A1: a decline is HTTP 200 with status failed and the connector's error_code/error_message", async (t) => {
  const fake = await startFake(t);
  const answer = await raw(fake, "POST", "/payments", {
    payment_id: "declined",
    amount: 100,
    currency: "USD",
    confirm: true,
    payment_method_data: wireCard("5105105105105100"),
  });
  t.is(answer.status, 200);
  t.like(answer.json, {
    status: "failed",
    error_code: "DC_08",
    error_message: "Payment declined: Card declined",
  });
});

test("A3: the Idempotency-Key header is ignored; only the payment_id deduplicates", async (t) => {
  const fake = await startFake(t);
  const headers = { "Idempotency-Key": "same-key" };
  const first = await raw(
    fake,
    "POST",
    "/payments",
    { payment_id: "k1", amount: 1, currency: "USD" },
    headers,
  );
  const second = await raw(
    fake,
    "POST",
    "/payments",
    { payment_id: "k2", amount: 1, currency: "USD" },
    headers,
  );
  t.is(first.status, 200);
  t.is(second.status, 200);
  t.is(fake.payments().length, 2);
});

test("A1/A2: the fake's payments and refunds satisfy the client's response schemas", async (t) => {
  const fake = await startFake(t);
  const payment = await raw(fake, "POST", "/payments", {
    payment_id: "schema",
    amount: 100,
    currency: "USD",
    confirm: true,
    payment_method_data: wireCard("4242424242424242"),
    metadata: { order: "o1" },
  });
  t.true(PaymentSchema.safeParse(payment.json).success, payment.text);
  const refund = await raw(fake, "POST", "/refunds", {
    payment_id: "schema",
    refund_id: "rs",
    amount: 10,
  });
  t.true(RefundSchema.safeParse(refund.json).success, refund.text);
  for (const field of [
    "payment_id",
    "status",
    "amount",
    "currency",
    "client_secret",
    "created",
    "updated",
  ]) {
    t.true(field in payment.json, field);
  }
  for (const field of [
    "refund_id",
    "payment_id",
    "amount",
    "currency",
    "status",
    "connector",
    "created_at",
    "updated_at",
  ]) {
    t.true(field in refund.json, field);
  }
});
