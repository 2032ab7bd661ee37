/**
 * SPEC §1.7 and §4: the database refuses, at commit, any write that breaks the money
 * rules, whoever writes it; and a refusal writes nothing.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  type DbContext,
  insertBuyer,
  insertOrder,
  insertSeller,
  rejectsWith,
  tx,
  useDatabase,
} from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

async function paidOrder(pool: pg.Pool, items: Array<{ amount: number; platformFee: number }>) {
  const buyerId = await insertBuyer(pool);
  const sellerIds: string[] = [];
  for (const _ of items) sellerIds.push(await insertSeller(pool));
  const { orderId, itemIds } = await insertOrder(
    pool,
    buyerId,
    items.map((i, n) => ({ ...i, sellerId: sellerIds[n]! })),
  );
  await pool.query("update settle.orders set status = 'payment_pending' where id = $1", [orderId]);
  await pool.query("update settle.orders set status = 'paid' where id = $1", [orderId]);
  return { buyerId, sellerIds, orderId, itemIds };
}

const insertTransfer = (
  q: Pick<pg.Pool, "query">,
  orderId: string,
  sellerId: string,
  amount: number,
  currency = "EUR",
) =>
  q.query<{ id: string }>(
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency)
     values ($1, $2, $3, $4) returning id`,
    [orderId, sellerId, amount, currency],
  );

async function completedTransfer(pool: pg.Pool, orderId: string, sellerId: string, amount: number) {
  const { rows } = await insertTransfer(pool, orderId, sellerId, amount);
  const id = rows[0]!.id;
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = $2 where id = $1",
    [id, `tr_${id.replaceAll("-", "")}`],
  );
  return id;
}

async function succeededRefund(pool: pg.Pool, orderId: string, amount: number) {
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, $2) returning id",
    [orderId, amount],
  );
  await pool.query("update settle.refunds set status = 'succeeded' where id = $1", [rows[0]!.id]);
  return rows[0]!.id;
}

test("an order alone, without its items, is refused at commit (TOTAL)", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  await rejectsWith(
    t,
    pool.query(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', 500)",
      [buyerId],
    ),
    "TOTAL",
    /total_amount 500 but its items add up to 0/,
  );
  const { rows } = await pool.query(
    "select count(*)::int as n from settle.orders where buyer_id = $1",
    [buyerId],
  );
  t.is(rows[0].n, 0);
});

test("an order whose items do not add up to its total is refused (TOTAL)", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const attempt = tx(pool, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', 1000) returning id",
      [buyerId],
    );
    await c.query(
      "insert into settle.order_items (order_id, seller_id, amount) values ($1, $2, 999)",
      [rows[0]!.id, sellerId],
    );
  });
  await rejectsWith(t, attempt, "TOTAL");
});

test("changing an item of a pending order must change the total with it", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const { orderId, itemIds } = await insertOrder(pool, buyerId, [{ sellerId, amount: 1000 }]);
  await rejectsWith(
    t,
    pool.query("update settle.order_items set amount = 800 where id = $1", [itemIds[0]]),
    "TOTAL",
  );
  await tx(pool, async (c) => {
    await c.query("update settle.order_items set amount = 800 where id = $1", [itemIds[0]]);
    await c.query("update settle.orders set total_amount = 800 where id = $1", [orderId]);
  });
  t.pass();
});

test("refunds that did not fail may not exceed the order total (RFEXC); failed ones do not count", async (t) => {
  const { pool } = t.context;
  const { orderId } = await paidOrder(pool, [{ amount: 1000, platformFee: 100 }]);
  await succeededRefund(pool, orderId, 600);
  await rejectsWith(
    t,
    pool.query("insert into settle.refunds (order_id, amount) values ($1, 401)", [orderId]),
    "RFEXC",
    /would add up to 1001, above the order total 1000/,
  );
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, 400) returning id",
    [orderId],
  );
  await pool.query("update settle.refunds set status = 'failed' where id = $1", [rows[0]!.id]);
  await succeededRefund(pool, orderId, 400);
  const sum = await pool.query(
    "select sum(amount)::int as s from settle.refunds where order_id = $1 and status <> 'failed'",
    [orderId],
  );
  t.is(sum.rows[0].s, 1000);
});

test("at most one refund per order is in flight (partial unique index)", async (t) => {
  const { pool } = t.context;
  const { orderId } = await paidOrder(pool, [{ amount: 1000, platformFee: 0 }]);
  await pool.query("insert into settle.refunds (order_id, amount) values ($1, 100)", [orderId]);
  const error = await rejectsWith(
    t,
    pool.query("insert into settle.refunds (order_id, amount) values ($1, 100)", [orderId]),
    "23505",
  );
  t.is(error.constraint, "refunds_one_in_flight_per_order");
});

test("transfers of an order to a seller may not exceed the seller's share (TREXC)", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [
    { amount: 1000, platformFee: 100 },
    { amount: 500, platformFee: 50 },
  ]);
  const [a, b] = sellerIds as [string, string];
  await rejectsWith(
    t,
    insertTransfer(pool, orderId, a, 901),
    "TREXC",
    /above the seller's share 900/,
  );
  await insertTransfer(pool, orderId, a, 900);
  await insertTransfer(pool, orderId, b, 450);
  await rejectsWith(t, insertTransfer(pool, orderId, b, 1), "TREXC");
  // A cancelled transfer frees the share again.
  const { rows } = await pool.query<{ id: string }>(
    "select id from settle.seller_transfers where seller_id = $1",
    [b],
  );
  await pool.query("update settle.seller_transfers set status = 'cancelled' where id = $1", [
    rows[0]!.id,
  ]);
  await insertTransfer(pool, orderId, b, 450);
  t.pass();
});

test("a transfer is in its order's currency (TREXC)", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 100 }]);
  await rejectsWith(
    t,
    insertTransfer(pool, orderId, sellerIds[0]!, 100, "USD"),
    "TREXC",
    /is in USD, but the order is in EUR/,
  );
});

test("two concurrent transactions cannot both take the same share", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 100 }]);
  const a = await pool.connect();
  const b = await pool.connect();
  try {
    await a.query("begin");
    await b.query("begin");
    await insertTransfer(a, orderId, sellerIds[0]!, 600);
    // b's insert may itself wait for a: each insert enqueues a job, and the first
    // job of a task also registers the task in graphile-worker, a row both
    // transactions would write. So a commits while b's insert is in flight.
    const bInserted = insertTransfer(b, orderId, sellerIds[0]!, 600);
    await a.query("commit");
    await bInserted;
    await rejectsWith(t, b.query("commit"), "TREXC");
  } finally {
    a.release();
    b.release();
  }
  const { rows } = await pool.query(
    "select sum(amount)::int as s from settle.seller_transfers where order_id = $1",
    [orderId],
  );
  t.is(rows[0].s, 600);
});

test("reversals of a transfer may not exceed its amount (RVEXC)", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 0 }]);
  const transferId = await completedTransfer(pool, orderId, sellerIds[0]!, 500);
  await succeededRefund(pool, orderId, 1000);
  const reverse = (amount: number) =>
    pool.query<{ id: string }>(
      "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, $2) returning id",
      [transferId, amount],
    );
  await rejectsWith(t, reverse(501), "RVEXC", /above its amount 500/);
  const { rows } = await reverse(300);
  // A permanently failed reversal gives its amount back.
  await pool.query(
    "update settle.transfer_reversals set status = 'permanently_failed' where id = $1",
    [rows[0]!.id],
  );
  await reverse(500);
  t.pass();
});

test("reversals of an order may not exceed its succeeded refunds (RVREF)", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 100 }]);
  const transferId = await completedTransfer(pool, orderId, sellerIds[0]!, 900);
  const reverse = (amount: number) =>
    pool.query(
      "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, $2)",
      [transferId, amount],
    );
  await rejectsWith(t, reverse(100), "RVREF", /above its succeeded refunds 0/);
  // A refund that is only in flight does not count.
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, 300) returning id",
    [orderId],
  );
  await rejectsWith(t, reverse(100), "RVREF");
  await pool.query("update settle.refunds set status = 'succeeded' where id = $1", [rows[0]!.id]);
  await reverse(300);
  await rejectsWith(t, reverse(1), "RVREF");
});

test("a transfer's status follows its reversals", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 0 }]);
  const transferId = await completedTransfer(pool, orderId, sellerIds[0]!, 1000);
  await succeededRefund(pool, orderId, 1000);
  const status = async () =>
    (await pool.query("select status from settle.seller_transfers where id = $1", [transferId]))
      .rows[0].status;
  const reverse = async (amount: number) => {
    const { rows } = await pool.query<{ id: string }>(
      "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, $2) returning id",
      [transferId, amount],
    );
    await pool.query(
      "update settle.transfer_reversals set status = 'reversed', stripe_reversal_id = $2 where id = $1",
      [rows[0]!.id, `trr_${rows[0]!.id.replaceAll("-", "")}`],
    );
  };
  await reverse(400);
  t.is(await status(), "partially_reversed");
  await reverse(100);
  t.is(await status(), "partially_reversed");
  await reverse(500);
  t.is(await status(), "reversed");
  const { rows } = await pool.query(
    "select from_status, to_status from settle.state_transitions where entity_id = $1 order by id",
    [transferId],
  );
  t.deepEqual(
    rows.map((r) => `${r.from_status}->${r.to_status}`),
    [
      "null->pending",
      "pending->completed",
      "completed->partially_reversed",
      "partially_reversed->partially_reversed",
      "partially_reversed->reversed",
    ],
  );
});

test("a reversal of a transfer that was never made is refused by the transfer's state machine", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 0 }]);
  const { rows: tr } = await insertTransfer(pool, orderId, sellerIds[0]!, 1000);
  await succeededRefund(pool, orderId, 500);
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, 500) returning id",
    [tr[0]!.id],
  );
  await rejectsWith(
    t,
    pool.query(
      "update settle.transfer_reversals set status = 'reversed', stripe_reversal_id = 'trr_x1' where id = $1",
      [rows[0]!.id],
    ),
    "ILTRN",
    /seller_transfers .*: pending -> partially_reversed/,
  );
});

test("money columns are checked: positive amounts, ISO currency, fee within amount, known status", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const orderWith = (currency: string, amount: number, fee: number) =>
    tx(pool, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "insert into settle.orders (buyer_id, currency, total_amount) values ($1, $2, $3) returning id",
        [buyerId, currency, amount],
      );
      await c.query(
        "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, $4)",
        [rows[0]!.id, sellerId, amount, fee],
      );
    });
  t.is(
    (await rejectsWith(t, orderWith("eur", 100, 0), "23514")).constraint,
    "orders_currency_format",
  );
  t.is(
    (await rejectsWith(t, orderWith("EU", 100, 0), "23514")).constraint,
    "orders_currency_format",
  );
  t.is(
    (await rejectsWith(t, orderWith("EUR", 0, 0), "23514")).constraint,
    "orders_total_amount_positive",
  );
  t.is(
    (await rejectsWith(t, orderWith("EUR", 100, 101), "23514")).constraint,
    "order_items_platform_fee_within_amount",
  );
  t.is(
    (await rejectsWith(t, orderWith("EUR", 100, -1), "23514")).constraint,
    "order_items_platform_fee_within_amount",
  );
  // An unknown status is no transition either; a legacy row skips the initial-status
  // rule, so the CHECK on the value set is what stops it.
  const { orderId } = await insertOrder(pool, buyerId, [{ sellerId, amount: 100 }]);
  await rejectsWith(
    t,
    pool.query("update settle.orders set status = 'shipped' where id = $1", [orderId]),
    "ILTRN",
  );
  const legacy = pool.query(
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
     values ($1, $2, 100, 'EUR', 'done', true)`,
    [orderId, sellerId],
  );
  t.is((await rejectsWith(t, legacy, "23514")).constraint, "seller_transfers_status_valid");
  t.is(
    (
      await rejectsWith(
        t,
        pool.query(
          "insert into settle.plans (name, amount, currency, interval) values ('x', 100, 'EUR', 'fortnight')",
        ),
        "23514",
      )
    ).constraint,
    "plans_interval_valid",
  );
});

test("made transfers and done reversals carry their Stripe ids", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerIds } = await paidOrder(pool, [{ amount: 1000, platformFee: 0 }]);
  const { rows } = await insertTransfer(pool, orderId, sellerIds[0]!, 1000);
  const id = rows[0]!.id;
  for (const empty of ["null", "''"]) {
    const error = await rejectsWith(
      t,
      pool.query(
        `update settle.seller_transfers set status = 'completed', stripe_transfer_id = ${empty} where id = $1`,
        [id],
      ),
      "23514",
    );
    t.is(error.constraint, "seller_transfers_made_have_stripe_id");
  }
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_ok1' where id = $1",
    [id],
  );
  await succeededRefund(pool, orderId, 100);
  const { rows: rv } = await pool.query<{ id: string }>(
    "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, 100) returning id",
    [id],
  );
  const error = await rejectsWith(
    t,
    pool.query("update settle.transfer_reversals set status = 'reversed' where id = $1", [
      rv[0]!.id,
    ]),
    "23514",
  );
  t.is(error.constraint, "transfer_reversals_reversed_have_stripe_id");
});
