/**
 * Contract tests: the fake Stripe spoken to with plain fetch, pinned to the
 * documented wire facts (reference/psp-facts.md B7–B14) so that drift in the
 * fake is caught here rather than in a job: error bodies and statuses, id
 * prefixes, headers, form encoding, idempotency rules, webhook signatures.
 */
import { createHmac } from "node:crypto";
import test from "ava";
import { KEY_TTL_MS } from "../../../src/psp/stripe/fake/idempotency.ts";
import type { FakeStripe } from "../../../src/psp/stripe/fake/index.ts";
import { fakeFor, SECRET_KEY, startReceiver } from "./support.ts";

interface Call {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: Record<string, unknown> };
}

async function call(
  fake: FakeStripe,
  method: "GET" | "POST",
  path: string,
  options: { form?: string; headers?: Record<string, string>; auth?: string | null } = {},
): Promise<Call> {
  const auth = options.auth === undefined ? `Bearer ${SECRET_KEY}` : options.auth;
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: {
      ...(auth ? { Authorization: auth } : {}),
      ...(method === "POST" ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
      ...options.headers,
    },
    ...(method === "POST" ? { body: options.form ?? "" } : {}),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Call["body"],
  };
}

const TRANSFER =
  "amount=1000&currency=USD&destination=acct_1Seller&transfer_group=order-1&metadata[order_id]=order-1";

/** Stripe's error body and headers, injected faults' answers included. */
function errorShape(t: import("ava").ExecutionContext, c: Call, status: number, type: string) {
  t.is(c.status, status);
  t.is(c.headers.get("content-type"), "application/json");
  t.is(typeof c.body.error?.message, "string");
  t.is(c.body.error?.type, type);
  t.regex(c.headers.get("request-id") ?? "", /^req_\w{14}$/);
}

test("no API key, or not a secret key: 401 authentication_error", async (t) => {
  const fake = await fakeFor(t);
  errorShape(
    t,
    await call(fake, "POST", "/v1/transfers", { form: TRANSFER, auth: null }),
    401,
    "authentication_error",
  );
  errorShape(
    t,
    await call(fake, "GET", "/v1/transfers", { auth: "Bearer pk_test_x" }),
    401,
    "authentication_error",
  );
  t.is(fake.transfers().length, 0);
});

test("a transfer: tr_ id, lower-case currency, nested metadata, an empty reversals list, and Stripe's headers", async (t) => {
  const fake = await fakeFor(t);
  const c = await call(fake, "POST", "/v1/transfers", {
    form: TRANSFER,
    headers: { "Idempotency-Key": "k-1", "Stripe-Version": "2026-10-28.endive" },
  });
  t.is(c.status, 200);
  t.regex(c.body.id as string, /^tr_\w{24}$/);
  t.is(c.body.object, "transfer");
  t.is(c.body.currency, "usd");
  t.is(c.body.amount, 1000);
  t.is(c.body.amount_reversed, 0);
  t.false(c.body.reversed);
  t.deepEqual(c.body.metadata, { order_id: "order-1" });
  t.is(c.body.transfer_group, "order-1");
  t.is(c.body.livemode, false);
  t.deepEqual(c.body.reversals, {
    object: "list",
    data: [],
    has_more: false,
    url: `/v1/transfers/${c.body.id}/reversals`,
  });
  t.regex(c.headers.get("request-id") ?? "", /^req_/);
  t.is(c.headers.get("idempotency-key"), "k-1");
  t.is(c.headers.get("stripe-version"), "2026-10-28.endive");
  t.is(c.headers.get("idempotent-replayed"), null);
});

test("every answer carries its own request id", async (t) => {
  const fake = await fakeFor(t);
  const ids = [
    (await call(fake, "POST", "/v1/transfers", { form: TRANSFER })).headers.get("request-id"),
    (await call(fake, "GET", "/v1/transfers")).headers.get("request-id"),
    (await call(fake, "GET", "/v1/nothing")).headers.get("request-id"),
  ];
  t.true(ids.every((id) => /^req_/.test(id ?? "")));
  t.is(new Set(ids).size, 3);
});

test("expand[] and expand[0] are both accepted; unknown and missing params are 400s naming the param", async (t) => {
  const fake = await fakeFor(t);
  t.is(
    (await call(fake, "POST", "/v1/transfers", { form: `${TRANSFER}&expand[]=destination` }))
      .status,
    200,
  );
  t.is(
    (await call(fake, "POST", "/v1/transfers", { form: `${TRANSFER}&expand[0]=destination` }))
      .status,
    200,
  );

  const unknown = await call(fake, "POST", "/v1/transfers", { form: `${TRANSFER}&colour=red` });
  errorShape(t, unknown, 400, "invalid_request_error");
  t.is(unknown.body.error?.param, "colour");
  t.is(unknown.body.error?.code, "parameter_unknown");

  const missing = await call(fake, "POST", "/v1/transfers", {
    form: "currency=usd&destination=acct_1Seller",
  });
  errorShape(t, missing, 400, "invalid_request_error");
  t.is(missing.body.error?.param, "amount");
  t.is(missing.body.error?.code, "parameter_missing");

  const notInt = await call(fake, "POST", "/v1/transfers", {
    form: TRANSFER.replace("1000", "10.5"),
  });
  t.is(notInt.body.error?.code, "parameter_invalid_integer");
  t.is(fake.transfers().length, 2);
});

test("unknown URL: 404 invalid_request_error", async (t) => {
  const fake = await fakeFor(t);
  errorShape(
    t,
    await call(fake, "POST", "/v1/charges_and_more", { form: "" }),
    404,
    "invalid_request_error",
  );
});

test("idempotency: replay with Idempotent-Replayed and Original-Request; other params: 400 idempotency_error", async (t) => {
  const fake = await fakeFor(t);
  const headers = { "Idempotency-Key": "k-1" };
  const first = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  // Same parameters in another order are the same parameters.
  const reordered = TRANSFER.split("&").reverse().join("&");
  const replay = await call(fake, "POST", "/v1/transfers", { form: reordered, headers });
  t.deepEqual(replay.body, first.body);
  t.is(replay.headers.get("idempotent-replayed"), "true");
  t.is(replay.headers.get("original-request"), first.headers.get("request-id"));
  t.not(replay.headers.get("request-id"), first.headers.get("request-id"));

  const other = await call(fake, "POST", "/v1/transfers", {
    form: TRANSFER.replace("amount=1000", "amount=999"),
    headers,
  });
  errorShape(t, other, 400, "idempotency_error");
  // The key also binds the endpoint.
  const elsewhere = await call(fake, "POST", "/v1/payouts", {
    form: "amount=1&currency=usd",
    headers,
  });
  errorShape(t, elsewhere, 400, "idempotency_error");
  t.is(fake.transfers().length, 1);
});

test("keys are per account: the same key on two connected accounts makes two payouts", async (t) => {
  const fake = await fakeFor(t);
  fake.setBalance("acct_1A", "usd", 1_000);
  fake.setBalance("acct_1B", "usd", 1_000);
  const form = "amount=100&currency=usd";
  const a = await call(fake, "POST", "/v1/payouts", {
    form,
    headers: { "Idempotency-Key": "k", "Stripe-Account": "acct_1A" },
  });
  const b = await call(fake, "POST", "/v1/payouts", {
    form,
    headers: { "Idempotency-Key": "k", "Stripe-Account": "acct_1B" },
  });
  t.regex(a.body.id as string, /^po_\w{24}$/);
  t.is(a.body.status, "pending");
  t.not(a.body.id, b.body.id);
  t.is(b.headers.get("idempotent-replayed"), null);
  const bad = await call(fake, "POST", "/v1/payouts", {
    form,
    headers: { "Stripe-Account": "someone" },
  });
  t.is(bad.status, 403);
  t.is(bad.body.error?.code, "account_invalid");
});

test("keys expire after 24 h of the fake's clock: the same key then runs anew", async (t) => {
  const fake = await fakeFor(t);
  const headers = { "Idempotency-Key": "k-1" };
  const first = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  fake.clock.advance(KEY_TTL_MS - 1_000);
  t.is(
    (await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers })).body.id,
    first.body.id,
  );
  fake.clock.advance(1_000);
  const later = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  t.not(later.body.id, first.body.id);
  t.is(later.headers.get("idempotent-replayed"), null);
  t.is(fake.transfers().length, 2);
});

test("a validation failure saves nothing: the same key with fixed params then succeeds", async (t) => {
  const fake = await fakeFor(t);
  const headers = { "Idempotency-Key": "k-1" };
  const bad = await call(fake, "POST", "/v1/transfers", {
    form: `${TRANSFER}&colour=red`,
    headers,
  });
  t.is(bad.status, 400);
  const good = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  t.is(good.status, 200);
});

test("an outcome of execution is saved: a refused reversal replays its 400 under the same key", async (t) => {
  const fake = await fakeFor(t);
  const transfer = await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  fake.setBalance("acct_1Seller", "usd", 0);
  const path = `/v1/transfers/${transfer.body.id}/reversals`;
  const headers = { "Idempotency-Key": "r-1" };
  const refused = await call(fake, "POST", path, { form: "amount=100", headers });
  t.is(refused.body.error?.code, "balance_insufficient");
  fake.setBalance("acct_1Seller", "usd", 1_000);
  const replay = await call(fake, "POST", path, { form: "amount=100", headers });
  t.is(replay.headers.get("idempotent-replayed"), "true");
  t.is(replay.body.error?.code, "balance_insufficient");
});

test("a concurrent request with a key in use: 409 idempotency_key_in_use, and nothing saved for it", async (t) => {
  const fake = await fakeFor(t);
  fake.setProcessingDelay(400);
  const headers = { "Idempotency-Key": "k-1" };
  const first = call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  await new Promise((r) => setTimeout(r, 100));
  const second = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  errorShape(t, second, 409, "invalid_request_error");
  t.is(second.body.error?.code, "idempotency_key_in_use");
  t.is((await first).status, 200);
  fake.setProcessingDelay(0);
  const after = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  t.is(after.headers.get("idempotent-replayed"), "true");
});

test("an afterCommit 5xx is saved as the key's result; the object exists anyway", async (t) => {
  const fake = await fakeFor(t);
  fake.inject({ path: "/v1/transfers", fault: { kind: "status", status: 500, afterCommit: true } });
  const headers = { "Idempotency-Key": "k-1" };
  const first = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  errorShape(t, first, 500, "api_error");
  const replay = await call(fake, "POST", "/v1/transfers", { form: TRANSFER, headers });
  errorShape(t, replay, 500, "api_error");
  t.is(replay.headers.get("idempotent-replayed"), "true");
  t.deepEqual(replay.body, first.body);
  t.is(fake.transfers().length, 1);
  // Without a key there is nothing to save: the next call is simply new.
  fake.inject({ path: "/v1/transfers", fault: { kind: "status", status: 500, afterCommit: true } });
  await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  t.is((await call(fake, "POST", "/v1/transfers", { form: TRANSFER })).status, 200);
});

test("injected faults without a body get Stripe's error body for their status", async (t) => {
  const fake = await fakeFor(t);
  const expected: Array<[number, string, string | undefined]> = [
    [429, "invalid_request_error", "rate_limit"],
    [409, "invalid_request_error", "idempotency_key_in_use"],
    [500, "api_error", undefined],
    [402, "card_error", "card_declined"],
  ];
  for (const [status, type, code] of expected) {
    fake.inject({ path: "/v1/transfers", fault: { kind: "status", status } });
    const c = await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
    t.is(c.status, status);
    t.is(c.body.error?.type, type);
    t.is(c.body.error?.code, code);
  }
});

test("reversal errors: 404 resource_missing, over-amount on param amount, already reversed without a code", async (t) => {
  const fake = await fakeFor(t);
  const missing = await call(fake, "POST", "/v1/transfers/tr_1Nope/reversals", {
    form: "amount=1",
  });
  errorShape(t, missing, 404, "invalid_request_error");
  t.is(missing.body.error?.code, "resource_missing");
  t.is(missing.body.error?.param, "id");

  const transfer = await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  const path = `/v1/transfers/${transfer.body.id}/reversals`;
  const over = await call(fake, "POST", path, { form: "amount=1001" });
  errorShape(t, over, 400, "invalid_request_error");
  t.is(over.body.error?.param, "amount");

  const full = await call(fake, "POST", path, { form: "metadata[refund_id]=rf-1" });
  t.regex(full.body.id as string, /^trr_\w{24}$/);
  t.is(full.body.object, "transfer_reversal");
  t.is(full.body.amount, 1000);
  t.deepEqual(full.body.metadata, { refund_id: "rf-1" });

  const again = await call(fake, "POST", path, { form: "amount=1" });
  errorShape(t, again, 400, "invalid_request_error");
  t.false("code" in (again.body.error ?? {}), "no code for an already reversed transfer");
  t.false("param" in (again.body.error ?? {}));
});

test("balance_insufficient: a seller who cannot cover a reversal, a platform that cannot fund a transfer", async (t) => {
  const fake = await fakeFor(t);
  const transfer = await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  t.is(fake.balance(null, "usd"), null, "the platform is unlimited by default");
  t.is(fake.balance("acct_1Seller", "usd"), 1_000);
  fake.setBalance("acct_1Seller", "usd", 99);
  const reversal = await call(fake, "POST", `/v1/transfers/${transfer.body.id}/reversals`, {
    form: "amount=100",
  });
  errorShape(t, reversal, 400, "invalid_request_error");
  t.is(reversal.body.error?.code, "balance_insufficient");

  fake.setBalance(null, "usd", 500);
  const unfunded = await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  t.is(unfunded.body.error?.code, "balance_insufficient");
  t.is(fake.balance(null, "usd"), 500);
  t.is(fake.transfers().length, 1);
});

test("the list: object list, url, has_more, limit bounds, unknown cursor", async (t) => {
  const fake = await fakeFor(t);
  for (let i = 0; i < 3; i++) await call(fake, "POST", "/v1/transfers", { form: TRANSFER });
  const page = await call(fake, "GET", "/v1/transfers?limit=2&transfer_group=order-1");
  t.is(page.body.object, "list");
  t.is(page.body.url, "/v1/transfers");
  t.is((page.body.data as unknown[]).length, 2);
  t.true(page.body.has_more);
  const tooMany = await call(fake, "GET", "/v1/transfers?limit=101");
  t.is(tooMany.status, 400);
  t.is(tooMany.body.error?.param, "limit");
  const cursor = await call(fake, "GET", "/v1/transfers?starting_after=tr_1Gone");
  t.is(cursor.status, 404);
  t.is(cursor.body.error?.param, "starting_after");
});

test("control calls over HTTP: balances, clock, webhooks, payout outcome, state", async (t) => {
  const fake = await fakeFor(t, { webhookSecret: "whsec_contract" });
  const receiver = await startReceiver(t);
  const control = async (what: string, body?: unknown) => {
    const response = await fetch(`${fake.url}/__fake/${what}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  t.is((await control("webhooks", { url: receiver.url })).status, 200);
  t.is((await control("webhooks", { bogus: 1 })).status, 400);
  t.is(
    (await control("balances", { account: "acct_1Seller", currency: "usd", amount: 5_000 })).status,
    200,
  );
  const before = fake.clock.now();
  const clock = await control("clock", { advanceMs: 60_000 });
  t.true((clock.body.now as number) >= before + 60_000);

  const payout = await call(fake, "POST", "/v1/payouts", {
    form: "amount=700&currency=usd",
    headers: { "Stripe-Account": "acct_1Seller" },
  });
  const settled = await control("payouts/settle", { id: payout.body.id, status: "paid" });
  t.is((settled.body.payout as { status: string }).status, "paid");
  const drained = await control("webhooks/drain");
  t.is((drained.body.deliveries as unknown[]).length, 1);
  const state = await control("state");
  t.deepEqual(state.body.balances, { acct_1Seller: { usd: 4_300 } });

  // The signature, checked independently of stripe-node: t=…,v1=hex(HMAC-SHA256("{t}.{body}")).
  const [delivery] = receiver.received;
  const header = delivery?.headers["stripe-signature"] as string;
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  t.truthy(match);
  const expected = createHmac("sha256", "whsec_contract")
    .update(`${match![1]}.${delivery!.body}`)
    .digest("hex");
  t.is(match![2], expected);
  // Signed on the fake's clock, which was moved a minute ahead of the wall clock.
  const signedAt = Number(match![1]);
  t.true(signedAt >= Math.floor(Date.now() / 1000) + 59);
  t.true(signedAt <= Math.floor(fake.clock.now() / 1000));
  const event = JSON.parse(delivery!.body);
  t.regex(event.id, /^evt_\w{24}$/);
  t.is(event.object, "event");
  t.is(event.type, "payout.paid");
  t.is(event.account, "acct_1Seller");
  t.is(event.data.object.id, payout.body.id);
  t.is(typeof event.created, "number");

  t.is((await control("reset")).status, 200);
  t.deepEqual(fake.transfers(), []);
  t.deepEqual(fake.payouts(), []);
  t.deepEqual(fake.requests(), []);
});
