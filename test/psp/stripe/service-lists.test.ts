/**
 * The lists `settle reconcile` walks, against the fake: every transfer of the
 * platform (any destination, by `created`), a transfer's reversals, a connected
 * account's payouts (Stripe-Account, paged, by `created`), and the by-id look-ups
 * that answer null for an object Stripe does not have.
 */
import test from "ava";
import { fakeFor, serviceFor, transferRequest } from "./support.ts";

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

test("listAllTransfers lists every destination, newest first, filtered by created", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const first = await service.createTransfer("k1", transferRequest().request);
  fake.clock.advance(60_000);
  const second = await service.createTransfer(
    "k2",
    transferRequest({ destination: "acct_2Other" }).request,
  );
  const listed = await all(service.listAllTransfers());
  t.deepEqual(
    listed.map((tr) => tr.id),
    [second, first],
  );
  const [sent] = fake.requests({ method: "GET", path: "/v1/transfers" });
  t.is(new URLSearchParams(sent?.query).get("destination"), null, "no destination filter");

  const cutoff = (listed[0]?.created ?? 0) - 30;
  const recent = await all(service.listAllTransfers({ created: { gte: cutoff } }));
  t.deepEqual(
    recent.map((tr) => tr.id),
    [second],
  );
});

test("listReversals walks a transfer's reversals; findTransferById answers null for an unknown id", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const transferId = await service.createTransfer("k1", transferRequest().request);
  const reversals = [];
  for (let i = 0; i < 3; i++) {
    reversals.push(await service.reverseTransfer(`r${i}`, transferId, 10, { n: String(i) }));
  }
  const listed = await all(service.listReversals(transferId));
  t.deepEqual(listed.map((r) => r.id).sort(), reversals.sort());
  t.is((await service.findTransferById(transferId))?.amount_reversed, 30);
  t.is(await service.findTransferById("tr_doesnotexist"), null);
});

test("listPayouts pages a connected account's payouts; findPayout answers null for an unknown id", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  fake.setBalance("acct_1Seller", "usd", 1_000_000);
  fake.setBalance("acct_2Other", "usd", 1_000_000);
  const made: string[] = [];
  for (let i = 0; i < 105; i++) {
    made.push(
      await service.createPayout(`p${i}`, "acct_1Seller", {
        amount: 100 + i,
        currency: "usd",
        metadata: { seller_payout_id: `p${i}` },
      }),
    );
  }
  await service.createPayout("other", "acct_2Other", {
    amount: 5,
    currency: "usd",
    metadata: {},
  });
  const listed = await all(service.listPayouts("acct_1Seller"));
  t.is(listed.length, 105, "both pages, only this account's");
  t.deepEqual(listed.map((p) => p.id).sort(), [...made].sort());
  const sent = fake.requests({ method: "GET", path: "/v1/payouts" });
  t.is(sent.length, 2, "two pages of 100");
  t.is(sent[0]?.headers["stripe-account"], "acct_1Seller");

  const future = Math.floor(Date.now() / 1000) + 3_600;
  t.deepEqual(await all(service.listPayouts("acct_1Seller", { created: { gte: future } })), []);
  t.is((await service.findPayout("acct_1Seller", made[0] as string))?.amount, 100);
  t.is(await service.findPayout("acct_2Other", made[0] as string), null, "another account's");
  t.is(await service.findPayout("acct_1Seller", "po_doesnotexist"), null);
  t.throws(() => service.listPayouts("not-an-account"), { instanceOf: TypeError });
});
