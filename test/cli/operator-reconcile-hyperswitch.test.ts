/**
 * `npx settle reconcile` against a test database and the fake Hyperswitch (and the
 * fake Stripe, whose books stay clean here). Books that agree (two paid orders,
 * one refunded in part, an order never confirmed, a subscription invoice's
 * payment) give no mismatch and exit 0. Then one crafted divergence per kind and
 * object: a payment and a refund made at Hyperswitch with no row here
 * (missing_here), an order recorded paid and a refund recorded sent that
 * Hyperswitch never saw (missing_there), a payment and a refund for other amounts
 * (amount_differs), an order still payment_pending whose payment succeeded and a
 * refund we think processing that failed (status_differs): stored under one run,
 * shown by ops.reconciliation_mismatches, exit 3. With only Hyperswitch's API
 * credentials (no webhook secrets, no JWT_SECRET) the run says Stripe was skipped,
 * and the reverse.
 */
import { randomBytes, randomUUID } from "node:crypto";
import test from "ava";
import type { FakeHyperswitch } from "../../src/psp/hyperswitch/fake/index.ts";
import { settle, type World, world } from "./operator-support.ts";

const CARD = {
  card: {
    card_number: "4242424242424242",
    card_exp_month: "12",
    card_exp_year: "2035",
    card_cvc: "123",
  },
};

function hs(w: World): FakeHyperswitch {
  if (!w.hyperswitch) throw new Error("a world with the fake Hyperswitch expected");
  return w.hyperswitch;
}

async function post(w: World, path: string, body: Record<string, unknown>): Promise<void> {
  const fake = hs(w);
  const answer = await fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "api-key": fake.apiKey },
    body: JSON.stringify(body),
  });
  if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
}

/** An order of one item, sent for payment (payment_pending) unless left `pending`. */
async function order(w: World, amount: number, status = "payment_pending"): Promise<string> {
  const client = await w.pool.connect();
  try {
    await client.query("begin");
    const tag = randomBytes(4).toString("hex");
    const buyer = await client.query<{ id: string }>(
      "insert into settle.buyers (email) values ($1) returning id",
      [`hs-${tag}@example.com`],
    );
    const seller = await client.query<{ id: string }>(
      "insert into settle.sellers (stripe_account_id, name) values ($1, 'HS seller') returning id",
      [`acct_hs${tag}`],
    );
    const created = await client.query<{ id: string }>(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', $2) returning id",
      [buyer.rows[0]?.id, amount],
    );
    const id = created.rows[0]?.id as string;
    await client.query(
      "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, 100)",
      [id, seller.rows[0]?.id, amount],
    );
    await client.query("commit");
    if (status !== "pending") {
      await w.pool.query("update settle.orders set status = $2 where id = $1", [id, status]);
    }
    return id;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

/** Hyperswitch charges the order (for `charged`), succeeded at once. */
async function charge(w: World, orderId: string, charged: number): Promise<void> {
  await post(w, "/payments", {
    payment_id: orderId,
    amount: charged,
    currency: "EUR",
    confirm: true,
    payment_method_data: CARD,
  });
}

/** The payment_succeeded webhook applied: the order is paid (and holds the payment id). */
async function recordPaid(w: World, orderId: string): Promise<void> {
  await w.pool.query(
    "select settle_private.apply_payment_succeeded($1::uuid, $1::text, now()) as outcome",
    [orderId],
  );
}

async function paidOrder(w: World, amount: number): Promise<string> {
  const id = await order(w, amount);
  await charge(w, id, amount);
  await recordPaid(w, id);
  return id;
}

/** A refund row sent to Hyperswitch (processing, with its id): `sent` at Hyperswitch, none when undefined. */
async function refund(w: World, orderId: string, amount: number, sent?: number): Promise<string> {
  const row = await w.pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, $2) returning id",
    [orderId, amount],
  );
  const id = row.rows[0]?.id as string;
  if (sent !== undefined)
    await post(w, "/refunds", { payment_id: orderId, refund_id: id, amount: sent });
  await w.pool.query(
    "update settle.refunds set status = 'processing', hyperswitch_refund_id = $1 where id = $1",
    [id],
  );
  return id;
}

/** Both sides settle the refund as succeeded. */
async function settled(w: World, refundId: string): Promise<void> {
  hs(w).settleRefund(refundId, { status: "succeeded" });
  await w.pool.query("update settle.refunds set status = 'succeeded' where id = $1", [refundId]);
}

/** A subscription invoice whose second attempt (`<id>_1`) is charged at Hyperswitch. */
async function invoicePayment(w: World): Promise<string> {
  const { rows } = await w.pool.query<{ id: string }>(
    `with b as (insert into settle.buyers (email) values ($1) returning id),
          p as (insert into settle.plans (name, amount, currency, interval) values ('Monthly', 900, 'EUR', 'month') returning id),
          s as (insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end)
                select b.id, p.id, now(), now() + interval '1 month' from b, p returning id)
     insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
     select s.id, 900, 'EUR', now(), now() + interval '1 month' from s returning id`,
    [`sub-${randomBytes(4).toString("hex")}@example.com`],
  );
  const paymentId = `${rows[0]?.id}_1`;
  await post(w, "/payments", { payment_id: paymentId, amount: 900, currency: "EUR" });
  return paymentId;
}

/** An invoice of `amount` (900 unless said), left pending: each test moves it as it needs. */
async function invoiceRow(w: World, amount = 900): Promise<string> {
  const { rows } = await w.pool.query<{ id: string }>(
    `with b as (insert into settle.buyers (email) values ($1) returning id),
          p as (insert into settle.plans (name, amount, currency, interval) values ('Monthly', $2, 'EUR', 'month') returning id),
          s as (insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end)
                select b.id, p.id, now(), now() + interval '1 month' from b, p returning id)
     insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
     select s.id, $2, 'EUR', now(), now() + interval '1 month' from s returning id`,
    [`inv-${randomBytes(4).toString("hex")}@example.com`, amount],
  );
  return rows[0]?.id as string;
}

/** Our side of an attempt: the invoice ends `status` having charged `paymentId` (kept when it paid, as the charge task does). */
async function recordInvoice(w: World, id: string, status: string, paymentId: string) {
  await w.pool.query(
    `update settle.subscription_invoices
        set status = $2, attempt_count = attempt_count + 1,
            psp_payment_id = case when $2 = 'paid' then $3 else psp_payment_id end
      where id = $1`,
    [id, status, paymentId],
  );
}

/** Hyperswitch's side of an attempt: `amount` charged under `paymentId` with `card`. */
async function chargeInvoice(w: World, paymentId: string, amount: number, card = CARD) {
  await post(w, "/payments", {
    payment_id: paymentId,
    amount,
    currency: "EUR",
    confirm: true,
    payment_method_data: card,
  });
}

const DECLINED = { card: { ...CARD.card, card_number: "4000000000000002" } };

interface ViewRow {
  run_id: string;
  provider: string;
  kind: string;
  entity: string;
  entity_id: string | null;
  psp_id: string | null;
}

const view = async (w: World) =>
  (
    await w.pool.query<ViewRow>(
      "select run_id, provider, kind, entity, entity_id, psp_id from ops.reconciliation_mismatches",
    )
  ).rows;
const key = (r: Omit<ViewRow, "run_id">) =>
  `${r.provider} ${r.kind} ${r.entity} ${r.entity_id ?? "-"} ${r.psp_id ?? "-"}`;

test("reconcile with Hyperswitch: clean books exit 0; each kind for payments and refunds is stored and shown, exit 3", async (t) => {
  t.timeout(120_000);
  const w = await world(t, { hyperswitch: true });
  const a = await paidOrder(w, 2_000);
  const b = await paidOrder(w, 3_000);
  const aRefund = await refund(w, a, 500, 500);
  await settled(w, aRefund);
  // Never confirmed, and confirmed then cancelled unpaid: nothing at Hyperswitch expected.
  await order(w, 700, "pending");
  const cancelled = await order(w, 900);
  await w.pool.query("update settle.orders set status = 'cancelled' where id = $1", [cancelled]);
  const invoice = await invoicePayment(w);

  const clean = await settle(w, ["reconcile"]);
  t.is(clean.code, 0, clean.output);
  t.regex(clean.output, /^hyperswitch orders: 3 ours, 2 theirs, 0 mismatch\(es\)$/m);
  t.regex(clean.output, /^hyperswitch subscription_invoices: 1 ours, 1 theirs, 0 mismatch\(es\)$/m);
  t.regex(clean.output, /^hyperswitch refunds: 1 ours, 1 theirs, 0 mismatch\(es\)$/m);
  t.regex(clean.output, /^stripe seller_transfers: \d+ ours, 0 theirs, 0 mismatch\(es\)$/m);
  t.notRegex(clean.output, /skipped/);
  t.deepEqual(await view(w), []);
  t.truthy(invoice);

  // missing_here: a payment and a refund (of b's payment) nobody recorded here.
  await post(w, "/payments", { payment_id: "pay_by_hand_1", amount: 4_200, currency: "EUR" });
  await post(w, "/refunds", { payment_id: b, refund_id: "ref_by_hand_1", amount: 100 });
  // missing_there: an order recorded paid whose payment Hyperswitch never made, and a
  // refund recorded sent that Hyperswitch never received.
  const ghost = await order(w, 1_500);
  await recordPaid(w, ghost);
  const ghostRefund = await refund(w, b, 200);
  // amount_differs: charged one unit more than the order; refunded 60 of our 50.
  const over = await order(w, 1_000);
  await charge(w, over, 1_001);
  await recordPaid(w, over);
  const overRefund = await refund(w, a, 50, 60);
  // status_differs: paid at Hyperswitch, the webhook never applied; a refund failed there.
  const lost = await order(w, 800);
  await charge(w, lost, 800);
  const c = await paidOrder(w, 1_200);
  const failedThere = await refund(w, c, 300, 300);
  hs(w).settleRefund(failedThere, { status: "failed" });

  const found = await settle(w, ["reconcile", "--since", "1d"]);
  t.is(found.code, 3, found.output);
  const expected = [
    { kind: "missing_here", entity: "orders", entity_id: null, psp_id: "pay_by_hand_1" },
    { kind: "missing_here", entity: "refunds", entity_id: null, psp_id: "ref_by_hand_1" },
    { kind: "missing_there", entity: "orders", entity_id: ghost, psp_id: ghost },
    { kind: "missing_there", entity: "refunds", entity_id: ghostRefund, psp_id: ghostRefund },
    { kind: "amount_differs", entity: "orders", entity_id: over, psp_id: over },
    { kind: "amount_differs", entity: "refunds", entity_id: overRefund, psp_id: overRefund },
    { kind: "status_differs", entity: "orders", entity_id: lost, psp_id: lost },
    { kind: "status_differs", entity: "refunds", entity_id: failedThere, psp_id: failedThere },
  ].map((m) => key({ provider: "hyperswitch", ...m }));
  const rows = await view(w);
  t.deepEqual(rows.map(key).sort(), [...expected].sort());
  t.is(new Set(rows.map((r) => r.run_id)).size, 1, "one run");
  t.regex(found.output, /^hyperswitch orders: 7 ours, 6 theirs, 4 mismatch\(es\) \(/m);
  t.regex(found.output, /^hyperswitch refunds: 4 ours, 4 theirs, 4 mismatch\(es\) \(/m);
  t.regex(
    found.output,
    /^status_differs hyperswitch orders row [0-9a-f-]+ \/ [0-9a-f-]+: ours payment_pending, Hyperswitch succeeded \(agrees with paid\|partially_refunded\|refunded\)$/m,
  );
  t.regex(
    found.output,
    /^missing_there hyperswitch refunds row [0-9a-f-]+ \/ [0-9a-f-]+: ours processing with [0-9a-f-]+, Hyperswitch has no such refund$/m,
  );
  t.regex(found.output, /^amount_differs hyperswitch refunds .*: ours 50 EUR, theirs 60 EUR$/m);
  t.regex(
    found.output,
    /^run [0-9a-f-]{36}: 8 mismatch\(es\), all in ops.reconciliation_mismatches$/m,
  );
});

test("reconcile needs only the credentials it calls with; it names the provider it skipped; with none configured it fails and stores nothing", async (t) => {
  const w = await world(t, { hyperswitch: true });
  const id = randomUUID();
  await post(w, "/payments", { payment_id: id, amount: 100, currency: "EUR" });
  // reconcile neither verifies webhooks nor signs tokens: the server's secrets stay unset.
  const serverSecrets = {
    JWT_SECRET: undefined,
    HYPERSWITCH_WEBHOOK_SECRET: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  };

  const hsOnly = await settle(w, ["reconcile"], {
    ...serverSecrets,
    STRIPE_SECRET_KEY: undefined,
    STRIPE_API_BASE: undefined,
  });
  t.is(hsOnly.code, 3, hsOnly.output);
  t.regex(
    hsOnly.output,
    /^stripe skipped: STRIPE_SECRET_KEY is not set, so transfers, reversals and payouts were not compared$/m,
  );
  t.regex(
    hsOnly.output,
    /^hyperswitch orders: 0 ours, 1 theirs, 1 mismatch\(es\) \(missing_here 1\)$/m,
  );
  t.notRegex(hsOnly.output, /^stripe seller_/m);

  const stripeOnly = await settle(w, ["reconcile"], {
    ...serverSecrets,
    HYPERSWITCH_BASE_URL: undefined,
    HYPERSWITCH_API_KEY: undefined,
  });
  t.is(stripeOnly.code, 0, stripeOnly.output);
  t.regex(
    stripeOnly.output,
    /^hyperswitch skipped: HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY are not set, so payments and refunds were not compared$/m,
  );
  t.regex(stripeOnly.output, /^stripe seller_transfers: 0 ours, 0 theirs, 0 mismatch\(es\)/m);
  t.notRegex(stripeOnly.output, /^hyperswitch orders/m);

  const runs = async () =>
    (await w.pool.query("select count(*)::int as n from settle.reconciliation_runs")).rows[0]?.n;
  t.is(await runs(), 2);
  // Half a provider is a mistake to name, not a provider to skip.
  const halfHyperswitch = await settle(w, ["reconcile"], {
    ...serverSecrets,
    HYPERSWITCH_API_KEY: undefined,
  });
  t.is(halfHyperswitch.code, 1, halfHyperswitch.output);
  t.regex(halfHyperswitch.output, /HYPERSWITCH_API_KEY must be set: HYPERSWITCH_BASE_URL is set/);
  const none = await settle(w, ["reconcile"], {
    ...serverSecrets,
    HYPERSWITCH_BASE_URL: undefined,
    HYPERSWITCH_API_KEY: undefined,
    STRIPE_SECRET_KEY: undefined,
    STRIPE_API_BASE: undefined,
  });
  t.is(none.code, 1, none.output);
  t.regex(
    none.output,
    /reconcile needs the API credentials of at least one PSP: set HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY, or STRIPE_SECRET_KEY/,
  );
  t.is(await runs(), 2, "nothing stored");
});

test("reconcile with Hyperswitch: subscription invoices against the payments of their attempts", async (t) => {
  t.timeout(120_000);
  const w = await world(t, { hyperswitch: true });
  // Agree: paid by its first attempt; failed then paid by retry 1.
  const paid = await invoiceRow(w);
  await chargeInvoice(w, paid, 900);
  await recordInvoice(w, paid, "paid", paid);
  const retried = await invoiceRow(w);
  await chargeInvoice(w, retried, 900, DECLINED);
  await recordInvoice(w, retried, "failed", retried);
  await chargeInvoice(w, `${retried}_1`, 900);
  await w.pool.query("update settle.subscription_invoices set status = 'pending' where id = $1", [
    retried,
  ]);
  await recordInvoice(w, retried, "paid", `${retried}_1`);
  const clean = await settle(w, ["reconcile"]);
  t.is(clean.code, 0, clean.output);
  t.regex(clean.output, /^hyperswitch subscription_invoices: 2 ours, 3 theirs, 0 mismatch\(es\)$/m);

  // status_differs: paid here, declined there; failed here, the buyer charged there;
  // charged twice (the first attempt and retry 1 both succeeded).
  const declined = await invoiceRow(w);
  await chargeInvoice(w, declined, 900, DECLINED);
  await recordInvoice(w, declined, "paid", declined);
  const charged = await invoiceRow(w);
  await chargeInvoice(w, charged, 900);
  await recordInvoice(w, charged, "failed", charged);
  const twice = await invoiceRow(w);
  await chargeInvoice(w, twice, 900);
  await chargeInvoice(w, `${twice}_1`, 900);
  await recordInvoice(w, twice, "paid", twice);
  // missing_there: recorded paid, nothing at Hyperswitch.
  const ghost = await invoiceRow(w);
  await recordInvoice(w, ghost, "paid", ghost);
  // amount_differs: 950 charged for an invoice of 900.
  const over = await invoiceRow(w);
  await chargeInvoice(w, over, 950);
  await recordInvoice(w, over, "paid", over);

  const found = await settle(w, ["reconcile", "--since", "1d"]);
  t.is(found.code, 3, found.output);
  const expected = [
    { kind: "status_differs", entity_id: declined, psp_id: declined },
    { kind: "status_differs", entity_id: charged, psp_id: charged },
    { kind: "status_differs", entity_id: twice, psp_id: `${twice}_1` },
    { kind: "missing_there", entity_id: ghost, psp_id: ghost },
    { kind: "amount_differs", entity_id: over, psp_id: over },
  ].map((m) => key({ provider: "hyperswitch", entity: "subscription_invoices", ...m }));
  t.deepEqual((await view(w)).map(key).sort(), [...expected].sort());
  t.regex(
    found.output,
    /^hyperswitch subscription_invoices: 7 ours, 8 theirs, 5 mismatch\(es\) \(/m,
  );
  t.regex(found.output, /^hyperswitch orders: 0 ours, 0 theirs, 0 mismatch\(es\)$/m);
  t.regex(found.output, /but 2 of its payments took the money/);
  t.regex(found.output, /ours failed, Hyperswitch succeeded \(the buyer was charged\)/);
});
