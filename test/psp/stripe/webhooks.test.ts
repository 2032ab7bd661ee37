/**
 * Stripe webhooks end to end on loopback: the fake signs and delivers events
 * at least once (retries, duplicates, reordering) to a small receiver, and the
 * service verifies what arrived with stripe-node's constructEvent (300 s).
 */
import test from "ava";
import { InvalidWebhookSignature } from "../../../src/psp/stripe/errors.ts";
import type { FakeStripe } from "../../../src/psp/stripe/fake/index.ts";
import {
  eventOf,
  fakeFor,
  type Received,
  serviceFor,
  startReceiver,
  transferRequest,
} from "./support.ts";

async function transferWithEvent(fake: FakeStripe) {
  const { key, request } = transferRequest();
  const id = await serviceFor(fake.url).createTransfer(key, request);
  await fake.webhooks.drain();
  return id;
}

function signatureOf(r: Received): string {
  return r.headers["stripe-signature"] as string;
}

test("a delivered transfer.created verifies and parses", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  const transferId = await transferWithEvent(fake);

  t.is(receiver.received.length, 1);
  const [delivery] = receiver.received;
  const event = serviceFor(fake.url).constructEvent(
    delivery!.body,
    signatureOf(delivery!),
    fake.webhookSecret,
  );
  t.is(event.type, "transfer.created");
  t.regex(event.id, /^evt_/);
  t.is((event.data.object as { id: string }).id, transferId);
  t.is(event.account, undefined, "a platform event has no account");
});

test("bad, missing and stale signatures are refused", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  await transferWithEvent(fake);
  const [delivery] = receiver.received;
  const { body } = delivery!;
  const signature = signatureOf(delivery!);
  const service = serviceFor(fake.url);
  const refused = (fn: () => unknown, why: string) => {
    const error = t.throws(fn, { instanceOf: InvalidWebhookSignature }, why);
    t.is(error?.kind, "permanent");
  };

  refused(
    () =>
      service.constructEvent(body.replace("transfer", "trensfer"), signature, fake.webhookSecret),
    "tampered body",
  );
  refused(() => service.constructEvent(body, signature, "whsec_someone_else"), "another secret");
  // One hex digit changed, always to another one.
  const flipped = signature.replace(
    /v1=([0-9a-f])/,
    (_, c: string) => `v1=${((Number.parseInt(c, 16) + 1) % 16).toString(16)}`,
  );
  t.not(flipped, signature);
  refused(() => service.constructEvent(body, flipped, fake.webhookSecret), "one digit off");
  refused(() => service.constructEvent(body, undefined, fake.webhookSecret), "missing header");
  refused(() => service.constructEvent(body, "", fake.webhookSecret), "empty header");
  refused(() => service.constructEvent(body, "t=1,v0=abc", fake.webhookSecret), "no v1");

  // The same genuine delivery, replayed later: within 300 s of its t= it passes, after it is refused.
  const signedAt = Number(/t=(\d+)/.exec(signature)?.[1]) * 1000;
  const at = (ms: number) => serviceFor(fake.url, { clock: () => signedAt + ms });
  t.notThrows(() => at(300_000).constructEvent(body, signature, fake.webhookSecret));
  refused(
    () => at(301_000).constructEvent(body, signature, fake.webhookSecret),
    "replayed after 301 s",
  );
  t.throws(() => service.constructEvent(body, signature, " "), { instanceOf: TypeError });
});

test("at least once: a delivery that failed is retried until the endpoint answers 2xx", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t, { failFirst: 2 });
  fake.webhooks.configure({ url: receiver.url, retryDelayMs: 10 });
  await transferWithEvent(fake);
  t.is(receiver.received.length, 1);
  const [delivery] = fake.webhooks.deliveries();
  t.is(delivery?.attempts, 3);
  t.true(delivery?.delivered);
  // Each attempt is signed afresh, and the one that got through verifies.
  const event = serviceFor(fake.url).constructEvent(
    receiver.received[0]!.body,
    signatureOf(receiver.received[0]!),
    fake.webhookSecret,
  );
  t.is(event.type, "transfer.created");
});

test("duplicates: the same event id arrives more than once, each copy verifiable", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url, duplicates: 2 });
  await transferWithEvent(fake);
  t.is(receiver.received.length, 3);
  const service = serviceFor(fake.url);
  const ids = receiver.received.map(
    (r) => service.constructEvent(r.body, signatureOf(r), fake.webhookSecret).id,
  );
  t.is(new Set(ids).size, 1);
});

test("reordering: held events go out newest first on flush", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url, reorder: true });
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  await service.reverseTransfer("rev-1", transferId, 100, { transfer_reversal_id: "rev-1" });
  await service.reverseTransfer("rev-2", transferId, 200, { transfer_reversal_id: "rev-2" });
  await fake.webhooks.drain();
  t.is(receiver.received.length, 0, "held until flushed");

  fake.webhooks.flush();
  await fake.webhooks.drain();
  const events = receiver.received.map(eventOf);
  t.deepEqual(
    events.map((e) => e.type),
    ["transfer.reversed", "transfer.reversed", "transfer.created"],
  );
  const amounts = events.map(
    (e) => (e.data.object as unknown as { amount_reversed: number }).amount_reversed,
  );
  t.deepEqual(amounts, [300, 100, 0], "each event carries the transfer as it was then");
});

test("payout outcomes send payout.* events on the connected account", async (t) => {
  const fake = await fakeFor(t);
  const receiver = await startReceiver(t);
  fake.webhooks.configure({ url: receiver.url });
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  await service.createTransfer(key, request);
  const payout = (n: number) =>
    service.createPayout(`payout-${n}`, "acct_1Seller", {
      amount: 100,
      currency: "usd",
      metadata: {},
    });
  const [paid, failed, canceled] = [await payout(1), await payout(2), await payout(3)];
  t.is(fake.balance("acct_1Seller", "usd"), 700);

  fake.settlePayout(paid, "paid");
  fake.settlePayout(failed, "failed", {
    code: "account_closed",
    message: "The bank account has been closed.",
  });
  fake.settlePayout(canceled, "canceled");
  await fake.webhooks.drain();

  const events = receiver.received
    .map((r) => service.constructEvent(r.body, signatureOf(r), fake.webhookSecret))
    .filter((e) => e.type.startsWith("payout."));
  t.deepEqual(
    events.map((e) => [
      e.type,
      e.account,
      (e.data.object as { id: string; status: string }).status,
    ]),
    [
      ["payout.paid", "acct_1Seller", "paid"],
      ["payout.failed", "acct_1Seller", "failed"],
      ["payout.canceled", "acct_1Seller", "canceled"],
    ],
  );
  t.is((events[1]!.data.object as { failure_code: string }).failure_code, "account_closed");
  t.is(fake.balance("acct_1Seller", "usd"), 900, "a failed or canceled payout returns its money");
  t.throws(() => fake.settlePayout(paid, "canceled"), {
    message: /cannot go from paid to canceled/,
  });
});
