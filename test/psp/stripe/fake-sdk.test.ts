/**
 * The fake Stripe through the real stripe-node, pointed at it with
 * host/port/protocol: what SPEC §8 promises a developer running `fake-psp`.
 */
import test from "ava";
import Stripe from "stripe";
import { fakeFor, sdkFor } from "./support.ts";

const transferParams = (group: string, extra: Partial<Stripe.TransferCreateParams> = {}) => ({
  amount: 1_000,
  currency: "usd",
  destination: "acct_1Seller",
  transfer_group: group,
  metadata: { order_id: group },
  ...extra,
});

test("the same key and params give the same transfer, made once", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  const first = await stripe.transfers.create(transferParams("order-1"), { idempotencyKey: "k-1" });
  const again = await stripe.transfers.create(transferParams("order-1"), { idempotencyKey: "k-1" });
  t.is(again.id, first.id);
  t.is(again.lastResponse.headers["idempotent-replayed"], "true");
  t.is(first.lastResponse.headers["idempotent-replayed"], undefined);
  t.is(fake.transfers().length, 1);
  t.is(fake.balance("acct_1Seller", "usd"), 1_000);
});

test("the same key with other params is an idempotency_error", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  await stripe.transfers.create(transferParams("order-1"), { idempotencyKey: "k-1" });
  const error = await t.throwsAsync(
    stripe.transfers.create(transferParams("order-1", { amount: 999 }), { idempotencyKey: "k-1" }),
  );
  t.true(error instanceof Stripe.errors.StripeIdempotencyError);
  const stripeError = error as Stripe.errors.StripeError;
  t.is(stripeError.rawType, "idempotency_error");
  t.is(stripeError.statusCode, 400);
  t.regex(stripeError.requestId ?? "", /^req_/);
  t.is(fake.transfers().length, 1);
});

test("reversing an unknown transfer is a 404 resource_missing on param id", async (t) => {
  const fake = await fakeFor(t);
  const error = (await t.throwsAsync(
    sdkFor(fake).transfers.createReversal(
      "tr_1Missing",
      { amount: 100 },
      { idempotencyKey: "r-1" },
    ),
  )) as Stripe.errors.StripeError;
  t.true(error instanceof Stripe.errors.StripeInvalidRequestError);
  t.is(error.statusCode, 404);
  t.is(error.code, "resource_missing");
  t.is(error.param, "id");
});

test("a partial then a full reversal; retrieve shows reversed and amount_reversed; a third is refused", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  const transfer = await stripe.transfers.create(transferParams("order-1"), {
    idempotencyKey: "k-1",
  });

  const partial = await stripe.transfers.createReversal(
    transfer.id,
    { amount: 300, metadata: { transfer_reversal_id: "rev-1" } },
    { idempotencyKey: "r-1" },
  );
  t.regex(partial.id, /^trr_/);
  t.is(partial.amount, 300);
  t.is(partial.transfer, transfer.id);
  const afterPartial = await stripe.transfers.retrieve(transfer.id);
  t.false(afterPartial.reversed);
  t.is(afterPartial.amount_reversed, 300);

  const rest = await stripe.transfers.createReversal(transfer.id, {}, { idempotencyKey: "r-2" });
  t.is(rest.amount, 700, "no amount reverses what is left");

  const retrieved = await stripe.transfers.retrieve(transfer.id);
  t.true(retrieved.reversed);
  t.is(retrieved.amount_reversed, 1_000);
  t.deepEqual(
    retrieved.reversals.data.map((r) => r.id),
    [rest.id, partial.id],
    "newest first",
  );
  t.is(fake.balance("acct_1Seller", "usd"), 0);

  const again = (await t.throwsAsync(
    stripe.transfers.createReversal(transfer.id, { amount: 1 }, { idempotencyKey: "r-3" }),
  )) as Stripe.errors.StripeError;
  t.true(again instanceof Stripe.errors.StripeInvalidRequestError);
  t.is(again.statusCode, 400);
  t.is(again.rawType, "invalid_request_error");
  t.is(again.code, undefined, "Stripe has no code for an already reversed transfer");
});

test("the list filters by transfer_group and destination", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  const a1 = await stripe.transfers.create(transferParams("order-a"), { idempotencyKey: "a1" });
  await stripe.transfers.create(transferParams("order-b"), { idempotencyKey: "b1" });
  const a2 = await stripe.transfers.create(
    transferParams("order-a", { destination: "acct_1Other" }),
    { idempotencyKey: "a2" },
  );

  const group = await stripe.transfers.list({ transfer_group: "order-a" });
  t.deepEqual(
    group.data.map((tr) => tr.id),
    [a2.id, a1.id],
  );
  const seller = await stripe.transfers.list({
    transfer_group: "order-a",
    destination: "acct_1Other",
  });
  t.deepEqual(
    seller.data.map((tr) => tr.id),
    [a2.id],
  );
});

test("pagination: limit, has_more and starting_after, and auto-pagination sees every transfer once", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const tr = await stripe.transfers.create(transferParams("order-p"), {
      idempotencyKey: `p-${i}`,
    });
    ids.push(tr.id);
  }
  const newestFirst = [...ids].reverse();

  const first = await stripe.transfers.list({ transfer_group: "order-p", limit: 3 });
  t.deepEqual(
    first.data.map((tr) => tr.id),
    newestFirst.slice(0, 3),
  );
  t.true(first.has_more);
  const second = await stripe.transfers.list({
    transfer_group: "order-p",
    limit: 3,
    starting_after: first.data.at(-1)!.id,
  });
  t.deepEqual(
    second.data.map((tr) => tr.id),
    newestFirst.slice(3, 6),
  );
  const last = await stripe.transfers.list({
    transfer_group: "order-p",
    limit: 3,
    starting_after: second.data.at(-1)!.id,
  });
  t.deepEqual(
    last.data.map((tr) => tr.id),
    newestFirst.slice(6),
  );
  t.false(last.has_more);

  const seen: string[] = [];
  for await (const tr of stripe.transfers.list({ transfer_group: "order-p", limit: 2 }))
    seen.push(tr.id);
  t.deepEqual(seen, newestFirst);
  t.is(fake.requests({ method: "GET", path: "/v1/transfers" }).length, 3 + 4);
});

test("created filters: gte/lt select by timestamp on the fake's clock", async (t) => {
  const start = Date.UTC(2026, 0, 1);
  const fake = await fakeFor(t, { clock: () => start });
  const stripe = sdkFor(fake);
  const early = await stripe.transfers.create(transferParams("order-c"), { idempotencyKey: "c1" });
  fake.clock.advance(60_000);
  const late = await stripe.transfers.create(transferParams("order-c"), { idempotencyKey: "c2" });
  t.is(late.created - early.created, 60);

  const onlyLate = await stripe.transfers.list({ created: { gte: late.created } });
  t.deepEqual(
    onlyLate.data.map((tr) => tr.id),
    [late.id],
  );
  const onlyEarly = await stripe.transfers.list({ created: { lt: late.created } });
  t.deepEqual(
    onlyEarly.data.map((tr) => tr.id),
    [early.id],
  );
});

test("a payout on a connected account comes from that account's balance", async (t) => {
  const fake = await fakeFor(t);
  const stripe = sdkFor(fake);
  await stripe.transfers.create(transferParams("order-1"), { idempotencyKey: "k-1" });
  const payout = await stripe.payouts.create(
    { amount: 400, currency: "usd", metadata: { seller_payout_id: "sp-1" } },
    { idempotencyKey: "po-1", stripeAccount: "acct_1Seller" },
  );
  t.regex(payout.id, /^po_/);
  t.is(payout.status, "pending");
  t.is(fake.balance("acct_1Seller", "usd"), 600);
  t.is(fake.requests({ path: "/v1/payouts" })[0]?.headers["stripe-account"], "acct_1Seller");
  // The payout belongs to the connected account: the platform cannot see it.
  const fromAccount = await stripe.payouts.retrieve(
    payout.id,
    {},
    { stripeAccount: "acct_1Seller" },
  );
  t.is(fromAccount.id, payout.id);
  const error = (await t.throwsAsync(
    stripe.payouts.retrieve(payout.id),
  )) as Stripe.errors.StripeError;
  t.is(error.code, "resource_missing");
});
