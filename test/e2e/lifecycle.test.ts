/**
 * The whole lifecycle through the public surface only (issue 4, "Done means"):
 * GraphQL with HS256 JWTs and signed webhooks delivered by the PSPs to our HTTP
 * endpoints, the worker running in the same process, against the fake PSPs (which
 * speak the real wire formats) and a real Postgres.
 *   two sellers and a buyer registered; an order of both sellers' items confirmed
 *   (payment_id = order id, same Idempotency-Key); payment_succeeded delivered
 *   twice gives exactly two transfers keyed by their row ids with transfer_group =
 *   order id; a forged webhook gets 401 and stores nothing; a refund above the paid
 *   total is refused and writes nothing; a partial refund reaches the PSP with
 *   refund_id = row id; refund_succeeded gives pro-rata reversals that reach
 *   `reversed` although Stripe first answers 429; the order ends
 *   partially_refunded, every transition is audited with its actor, and
 *   ops.money_invariants is empty.
 */
import { createHmac } from "node:crypto";
import test from "ava";
import pg from "pg";
import { pino } from "pino";
import { createApp } from "../../src/app.ts";
import { DEV_JWT_SECRET, loadConfig } from "../../src/config.ts";
import { openServices } from "../../src/services.ts";
import { dataOf, errorCode, graphql, signJwt } from "../server/helpers.ts";
import { createTestDatabase } from "../support/database.ts";

const silent = pino({ level: "silent" });

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("pay, transfer, refund, reverse: through GraphQL and signed webhooks only", async (t) => {
  t.timeout(120_000);
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = {
    ...loadConfig({
      SWEEP_INTERVAL: "2s",
      REVERSAL_BACKOFF_BASE: "300ms",
      REVERSAL_BACKOFF_MAX: "1s",
      TRANSFER_RETRY_BACKOFF_BASE: "300ms",
      TRANSFER_RETRY_BACKOFF_MAX: "1s",
    }),
    port: 0,
  };
  const services = await openServices({ config, connectionString: db.url, logger: silent });
  const app = createApp({ config, connectionString: db.url, logger: silent, services });
  const { port } = await app.start();
  t.teardown(async () => {
    await app.stop();
    await services.stop();
    await pool.end();
    await db.drop();
  });
  const url = `http://127.0.0.1:${port}`;
  const hyperswitch = services.psps.fakes.hyperswitch!;
  const stripe = services.psps.fakes.stripe!;
  const platform = await signJwt({ role: "settle_platform" }, { secret: DEV_JWT_SECRET });
  const q = async (sql: string, values: unknown[] = []) => (await pool.query(sql, values)).rows;

  // Parties and an order of two sellers' items.
  const seller = async (name: string, account: string) =>
    dataOf<{ seller: { id: string } }>(
      await graphql(
        url,
        `mutation ($n: String!, $a: String!) { registerSeller(input: { name: $n, stripeAccountId: $a }) { seller { id } } }`,
        {
          token: platform,
          variables: { n: name, a: account },
        },
      ),
      "registerSeller",
    ).seller.id;
  const [ada, bob] = [
    await seller("Ada's atelier", "acct_e2eada"),
    await seller("Bob's bakery", "acct_e2ebob"),
  ];
  const buyerId = dataOf<{ buyer: { id: string } }>(
    await graphql(
      url,
      `mutation { registerBuyer(input: { email: "carol@example.com" }) { buyer { id } } }`,
      { token: platform },
    ),
    "registerBuyer",
  ).buyer.id;
  const order = dataOf<{ order: { id: string; totalAmount: string; status: string } }>(
    await graphql(
      url,
      `mutation ($b: UUID!, $items: [NewOrderItemInput]!) {
         createOrder(input: { buyerId: $b, currency: "EUR", items: $items }) { order { id totalAmount status } } }`,
      {
        token: platform,
        variables: {
          b: buyerId,
          items: [
            { sellerId: ada, amount: "6000", platformFee: "600" },
            { sellerId: bob, amount: "4000", platformFee: "400" },
          ],
        },
      },
    ),
    "createOrder",
  ).order;
  t.like(order, { totalAmount: "10000", status: "pending" });
  const orderId = order.id;

  // The buyer confirms: one payment at Hyperswitch, keyed by the order id.
  const buyer = await signJwt({ role: "settle_buyer", sub: buyerId }, { secret: DEV_JWT_SECRET });
  const confirmed = await graphql(
    url,
    `mutation ($o: UUID!) { confirmOrder(input: { orderId: $o }) { order { status } clientSecret } }`,
    {
      token: buyer,
      variables: { o: orderId },
    },
  );
  t.truthy(dataOf<{ clientSecret: string }>(confirmed, "confirmOrder").clientSecret);
  const [paymentRequest] = hyperswitch.requests({ method: "POST", path: "/payments" });
  t.is(JSON.parse(paymentRequest!.body).payment_id, orderId);
  t.is(paymentRequest!.headers["idempotency-key"], orderId);

  // A forged payment_succeeded is refused and stores nothing.
  const forged = JSON.stringify({
    event_id: "evt_forged",
    event_type: "payment_succeeded",
    content: {},
  });
  const bad = await fetch(`${url}/webhooks/hyperswitch`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-signature-512": createHmac("sha512", "wrong").update(forged).digest("hex"),
    },
    body: forged,
  });
  t.is(bad.status, 401);
  const unsigned = await fetch(`${url}/webhooks/stripe`, { method: "POST", body: "{}" });
  t.is(unsigned.status, 401);
  t.deepEqual(await q("select event_id from settle.webhook_events"), []);

  // The buyer pays; Hyperswitch delivers payment_succeeded twice.
  hyperswitch.webhooks.configure({ duplicates: 1 });
  hyperswitch.settlePayment(orderId, { status: "succeeded" });
  const transfers = await until("two completed transfers", async () => {
    const rows = await q(
      "select id, seller_id, amount::int, stripe_transfer_id from settle.seller_transfers where order_id = $1 and status = 'completed' order by amount desc",
      [orderId],
    );
    return rows.length === 2 ? rows : null;
  });
  await hyperswitch.webhooks.drain();
  hyperswitch.webhooks.configure({ duplicates: 0 });
  t.deepEqual(
    transfers.map((r) => [r.seller_id, r.amount]),
    [
      [ada, 5400],
      [bob, 3600],
    ],
  );
  t.is(
    (
      await q(
        "select count(*)::int as n from settle.webhook_events where event_type = 'payment_succeeded'",
      )
    )[0].n,
    1,
    "the duplicate is not stored twice",
  );
  t.is(
    (
      await q("select count(*)::int as n from settle.seller_transfers where order_id = $1", [
        orderId,
      ])
    )[0].n,
    2,
  );
  t.is(stripe.transfers().length, 2);
  for (const row of transfers) {
    const made = stripe.transfers().find((s) => s.id === row.stripe_transfer_id);
    t.like(made, {
      transfer_group: orderId,
      metadata: { order_id: orderId, seller_transfer_id: row.id },
    });
    t.deepEqual(
      stripe
        .requests({ method: "POST", path: "/v1/transfers" })
        .filter((r) => r.body.includes(row.id))
        .map((r) => r.headers["idempotency-key"]),
      [row.id],
    );
  }

  // A refund above the paid total is refused and writes nothing.
  const tooMuch = await graphql(
    url,
    `mutation ($o: UUID!) { refundOrder(input: { orderId: $o, amount: "10001" }) { refund { id } } }`,
    {
      token: platform,
      variables: { o: orderId },
    },
  );
  t.is(errorCode(tooMuch), "REFUND_EXCEEDS_PAID");
  t.deepEqual(await q("select id from settle.refunds"), []);

  // A partial refund; Stripe answers the first reversal attempts with 429.
  stripe.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    times: 2,
    fault: { kind: "status", status: 429 },
  });
  const refunded = await graphql(
    url,
    `mutation ($o: UUID!) { refundOrder(input: { orderId: $o, amount: "3000", reason: "one item arrived broken" }) { refund { id status amount } } }`,
    { token: platform, variables: { o: orderId } },
  );
  const refund = dataOf<{ refund: { id: string; status: string; amount: string } }>(
    refunded,
    "refundOrder",
  ).refund;
  t.like(refund, { amount: "3000" });
  const [refundRequest] = hyperswitch.requests({ method: "POST", path: "/refunds" });
  t.is(JSON.parse(refundRequest!.body).refund_id, refund.id);
  t.is(refundRequest!.headers["idempotency-key"], refund.id);

  const reversals = await until("two reversed reversals", async () => {
    const rows = await q(
      `select t.seller_id, r.amount::int, r.retry_count from settle.transfer_reversals r
       join settle.seller_transfers t on t.id = r.seller_transfer_id
       where r.refund_id = $1 and r.status = 'reversed' order by r.amount desc`,
      [refund.id],
    );
    return rows.length === 2 ? rows : null;
  });
  // Pro rata of the shares (5400, 3600 of 10000): 1620 and 1080.
  t.deepEqual(
    reversals.map((r) => [r.seller_id, r.amount]),
    [
      [ada, 1620],
      [bob, 1080],
    ],
  );
  t.true(
    reversals.some((r) => r.retry_count > 0),
    "a 429 was retried",
  );
  t.deepEqual(
    stripe
      .transfers()
      .map((s) => s.amount_reversed)
      .sort(),
    [1080, 1620],
  );

  t.is(
    (await q("select status from settle.orders where id = $1", [orderId]))[0].status,
    "partially_refunded",
  );
  t.deepEqual(
    (await q("select status from settle.seller_transfers where order_id = $1", [orderId])).map(
      (r) => r.status,
    ),
    ["partially_reversed", "partially_reversed"],
  );
  const orderTrail = await q(
    "select from_status, to_status, actor from settle.state_transitions where entity_id = $1 order by id",
    [orderId],
  );
  t.deepEqual(orderTrail, [
    { from_status: null, to_status: "pending", actor: "settle_platform" },
    { from_status: "pending", to_status: "payment_pending", actor: `settle_buyer:${buyerId}` },
    { from_status: "payment_pending", to_status: "paid", actor: "task:webhook_events__process" },
    { from_status: "paid", to_status: "partially_refunded", actor: "task:webhook_events__process" },
  ]);
  const refundTrail = await q(
    "select from_status, to_status from settle.state_transitions where entity_id = $1 order by id",
    [refund.id],
  );
  t.deepEqual(
    refundTrail.map((r) => `${r.from_status}->${r.to_status}`),
    ["null->pending", "pending->processing", "processing->succeeded"],
  );
  t.deepEqual(await q("select * from ops.money_invariants"), []);
});
