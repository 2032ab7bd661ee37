/**
 * StripeService against the fake, when Stripe answers: what goes on the wire
 * (the key as Idempotency-Key, lower-case currency, form-encoded metadata, the
 * pinned API version, Stripe-Account for payouts), what comes back, the
 * look-ups, and the keys refused before any I/O.
 */
import "reflect-metadata";
import test from "ava";
import { container } from "tsyringe";
import { ClockToken } from "../../../src/di/tokens.ts";
import { STRIPE_API_VERSION } from "../../../src/psp/stripe/api-version.ts";
import { StripeServiceOptionsToken } from "../../../src/psp/stripe/client.ts";
import { StripeService } from "../../../src/psp/stripe/service.ts";
import { fakeFor, SECRET_KEY, serviceFor, silent, transferRequest } from "./support.ts";

test("createTransfer sends the key as Idempotency-Key and the documented form body", async (t) => {
  const fake = await fakeFor(t);
  const { key, request, orderId, sellerTransferId } = transferRequest();
  const id = await serviceFor(fake.url).createTransfer(key, request);
  t.regex(id, /^tr_/);

  const [sent] = fake.requests({ method: "POST", path: "/v1/transfers" });
  t.is(sent?.headers["idempotency-key"], key);
  t.is(sent?.headers.authorization, `Bearer ${SECRET_KEY}`);
  t.is(sent?.headers["stripe-version"], STRIPE_API_VERSION);
  t.is(sent?.headers["content-type"], "application/x-www-form-urlencoded");
  const body = new URLSearchParams(sent?.body);
  t.is(body.get("amount"), "1000");
  t.is(body.get("currency"), "usd", "lower-cased on the wire");
  t.is(body.get("destination"), "acct_1Seller");
  t.is(body.get("transfer_group"), orderId);
  t.is(body.get("metadata[order_id]"), orderId);
  t.is(body.get("metadata[seller_transfer_id]"), sellerTransferId);

  const [transfer] = fake.transfers();
  t.is(transfer?.id, id);
  t.is(transfer?.currency, "usd");
});

test("createTransfer with the same key again returns the same transfer; Stripe made one", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const first = await service.createTransfer(key, request);
  t.is(await service.createTransfer(key, request), first);
  t.is(fake.transfers().length, 1);
});

test("a blank or missing key throws before any request reaches Stripe", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { request } = transferRequest();
  for (const key of ["", "   ", "\t\n", undefined, null]) {
    const bad = key as unknown as string;
    await t.throwsAsync(service.createTransfer(bad, request), { instanceOf: TypeError });
    await t.throwsAsync(service.reverseTransfer(bad, "tr_1X", 100, { a: "b" }), {
      instanceOf: TypeError,
    });
    await t.throwsAsync(
      service.createPayout(bad, "acct_1Seller", { amount: 1, currency: "usd", metadata: {} }),
      { instanceOf: TypeError },
    );
  }
  t.deepEqual(fake.requests(), []);
});

test("bad money and a payout without a connected account are refused before any I/O", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  for (const amount of [0, -5, 10.5, Number.NaN]) {
    await t.throwsAsync(service.createTransfer(key, { ...request, amount }), {
      instanceOf: TypeError,
    });
  }
  await t.throwsAsync(service.createTransfer(key, { ...request, currency: "dollars" }), {
    instanceOf: TypeError,
  });
  await t.throwsAsync(
    service.createPayout("po-key", "", { amount: 1, currency: "usd", metadata: {} }),
    {
      instanceOf: TypeError,
    },
  );
  t.deepEqual(fake.requests(), []);
});

test("reverseTransfer: partial, then the rest; retrieveTransfer shows the reversals", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);

  const partial = await service.reverseTransfer("rev-1", transferId, 250, {
    refund_id: "refund-1",
    transfer_reversal_id: "rev-1",
  });
  const rest = await service.reverseTransfer("rev-2", transferId, null, {
    refund_id: "refund-2",
    transfer_reversal_id: "rev-2",
  });
  t.regex(partial, /^trr_/);
  t.not(rest, partial);
  const sent = fake.requests({ path: `/v1/transfers/${transferId}/reversals` });
  t.deepEqual(
    sent.map((r) => r.headers["idempotency-key"]),
    ["rev-1", "rev-2"],
  );
  t.is(new URLSearchParams(sent[1]?.body).get("amount"), null, "null amount: none sent");

  const transfer = await service.retrieveTransfer(transferId);
  t.true(transfer.reversed);
  t.is(transfer.amount_reversed, 1_000);
  t.deepEqual(
    transfer.reversals.data.map((r) => [r.id, r.amount]),
    [
      [rest, 750],
      [partial, 250],
    ],
  );
});

test("findTransfer matches metadata across every page of the transfer group", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const target = transferRequest();
  await service.createTransfer(target.key, target.request);
  // 100 more in the same group (other sellers' rows) push ours to the second page.
  for (let i = 0; i < 100; i++) {
    await service.createTransfer(`other-${i}`, {
      ...target.request,
      metadata: { order_id: target.orderId, seller_transfer_id: `other-${i}` },
    });
  }
  const found = await service.findTransfer(target.orderId, {
    seller_transfer_id: target.sellerTransferId,
  });
  t.is(found?.metadata.seller_transfer_id, target.sellerTransferId);
  const lists = fake.requests({ method: "GET", path: "/v1/transfers" });
  t.is(lists.length, 2, "two pages of 100");
  t.is(new URLSearchParams(lists[0]?.query).get("transfer_group"), target.orderId);

  t.is(await service.findTransfer(target.orderId, { seller_transfer_id: "nobody" }), null);
  t.is(
    await service.findTransfer("no-such-order", { seller_transfer_id: target.sellerTransferId }),
    null,
  );
  await t.throwsAsync(service.findTransfer(target.orderId, {}), { instanceOf: TypeError });
});

test("findReversal finds our reversal by metadata, or null", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  const reversalId = await service.reverseTransfer("rev-1", transferId, 100, {
    transfer_reversal_id: "rev-1",
  });
  t.is((await service.findReversal(transferId, { transfer_reversal_id: "rev-1" }))?.id, reversalId);
  t.is(await service.findReversal(transferId, { transfer_reversal_id: "rev-2" }), null);
});

test("listTransfers walks a seller's transfers page by page, with group and created filters", async (t) => {
  const start = Date.UTC(2026, 5, 1);
  const fake = await fakeFor(t, { clock: () => start });
  const service = serviceFor(fake.url);
  const made: string[] = [];
  for (let i = 0; i < 205; i++) {
    made.push(
      await service.createTransfer(`bf-${i}`, {
        ...transferRequest().request,
        destination: "acct_1Backfill",
        transferGroup: i % 2 === 0 ? "even" : "odd",
      }),
    );
  }
  fake.clock.advance(10_000);
  const later = await service.createTransfer("bf-later", {
    ...transferRequest().request,
    destination: "acct_1Backfill",
  });
  await service.createTransfer("elsewhere", transferRequest({ destination: "acct_1Else" }).request);

  const all: string[] = [];
  for await (const tr of service.listTransfers({ destination: "acct_1Backfill" })) all.push(tr.id);
  t.deepEqual(all, [later, ...made.reverse()]);
  t.is(fake.requests({ method: "GET", path: "/v1/transfers" }).length, 3);

  let even = 0;
  for await (const tr of service.listTransfers({
    destination: "acct_1Backfill",
    transferGroup: "even",
  })) {
    t.is(tr.transfer_group, "even");
    even++;
  }
  t.is(even, 103);

  const recent: string[] = [];
  for await (const tr of service.listTransfers({
    destination: "acct_1Backfill",
    created: { gt: Math.floor(start / 1000) },
  })) {
    recent.push(tr.id);
  }
  t.deepEqual(recent, [later]);
});

test("createPayout acts on the connected account with our key", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  await service.createTransfer(key, request);
  const payoutId = await service.createPayout("payout-1", "acct_1Seller", {
    amount: 600,
    currency: "USD",
    metadata: { seller_payout_id: "payout-1" },
  });
  t.regex(payoutId, /^po_/);
  const [sent] = fake.requests({ path: "/v1/payouts" });
  t.is(sent?.headers["stripe-account"], "acct_1Seller");
  t.is(sent?.headers["idempotency-key"], "payout-1");
  t.is(new URLSearchParams(sent?.body).get("currency"), "usd");
  t.is(fake.payouts()[0]?.status, "pending");
  t.is(fake.balance("acct_1Seller", "usd"), 400);
});

test("the service resolves from a tsyringe container with explicit tokens", async (t) => {
  const fake = await fakeFor(t);
  const scope = container.createChildContainer();
  scope.register(StripeServiceOptionsToken, {
    useValue: { secretKey: SECRET_KEY, apiBase: fake.url, timeoutMs: 5_000, logger: silent },
  });
  scope.register(ClockToken, { useValue: Date.now });
  const service = scope.resolve(StripeService);
  const { key, request } = transferRequest();
  t.regex(await service.createTransfer(key, request), /^tr_/);
});

test("construction refuses a bad apiBase, timeout or key", (t) => {
  const base = {
    secretKey: SECRET_KEY,
    apiBase: "http://127.0.0.1:1",
    timeoutMs: 1_000,
    logger: silent,
  };
  for (const bad of [
    { apiBase: "not a url" },
    { apiBase: "ftp://127.0.0.1" },
    { apiBase: "http://127.0.0.1:1/v1" },
    { timeoutMs: 0 },
    { secretKey: " " },
  ]) {
    t.throws(() => new StripeService({ ...base, ...bad }, Date.now), { instanceOf: TypeError });
  }
  t.notThrows(() => new StripeService({ ...base, apiBase: "https://api.stripe.com" }, Date.now));
});
