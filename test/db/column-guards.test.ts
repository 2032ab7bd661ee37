/**
 * SPEC §4: what may change in place besides status, and what may not; PSP ids are
 * unique when present.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  type DbContext,
  fundSeller,
  insertBuyer,
  insertOrder,
  insertSeller,
  moveOrder,
  rejectsWith,
  useDatabase,
} from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

async function orderWithTransfer(pool: pg.Pool) {
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const { orderId, itemIds } = await insertOrder(pool, buyerId, [
    { sellerId, amount: 1000, platformFee: 100 },
  ]);
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.seller_transfers (order_id, seller_id, amount, currency) values ($1, $2, 900, 'EUR') returning id",
    [orderId, sellerId],
  );
  return { buyerId, sellerId, orderId, itemIds, transferId: rows[0]!.id };
}

test("an order's money is frozen once it left pending, and so are its items", async (t) => {
  const { pool } = t.context;
  const { orderId, itemIds, buyerId } = await orderWithTransfer(pool);
  await moveOrder(pool, orderId, "payment_pending");
  await rejectsWith(
    t,
    pool.query("update settle.orders set total_amount = 2000 where id = $1", [orderId]),
    "IMMUT",
    /orders\.total_amount of .* cannot change once it left pending \(it is payment_pending\)/,
  );
  await rejectsWith(
    t,
    pool.query("update settle.orders set currency = 'USD' where id = $1", [orderId]),
    "IMMUT",
  );
  const otherBuyer = await insertBuyer(pool);
  t.not(otherBuyer, buyerId);
  await rejectsWith(
    t,
    pool.query("update settle.orders set buyer_id = $2 where id = $1", [orderId, otherBuyer]),
    "IMMUT",
  );
  await rejectsWith(
    t,
    pool.query("update settle.order_items set platform_fee = 0 where id = $1", [itemIds[0]]),
    "IMMUT",
    /items of order .* cannot change: the order is payment_pending/,
  );
  await rejectsWith(
    t,
    pool.query("delete from settle.order_items where id = $1", [itemIds[0]]),
    "IMMUT",
  );
  // Free columns still move.
  await pool.query("update settle.orders set last_error = 'psp timeout' where id = $1", [orderId]);
  t.pass();
});

test("a PSP id is filled once and never changed or cleared", async (t) => {
  const { pool } = t.context;
  const { orderId } = await orderWithTransfer(pool);
  await pool.query("update settle.orders set psp_payment_id = '' where id = $1", [orderId]);
  await pool.query("update settle.orders set psp_payment_id = 'pay_abc' where id = $1", [orderId]);
  await pool.query("update settle.orders set psp_payment_id = 'pay_abc' where id = $1", [orderId]);
  await rejectsWith(
    t,
    pool.query("update settle.orders set psp_payment_id = 'pay_other' where id = $1", [orderId]),
    "IMMUT",
    /psp_payment_id of .* is pay_abc and cannot change to pay_other/,
  );
  await rejectsWith(
    t,
    pool.query("update settle.orders set psp_payment_id = null where id = $1", [orderId]),
    "IMMUT",
  );
});

test("a pending transfer's amount may only be reduced; once made it is frozen", async (t) => {
  const { pool } = t.context;
  const { transferId } = await orderWithTransfer(pool);
  await pool.query("update settle.seller_transfers set amount = 600 where id = $1", [transferId]);
  await rejectsWith(
    t,
    pool.query("update settle.seller_transfers set amount = 700 where id = $1", [transferId]),
    "IMMUT",
    /can only be reduced \(600 -> 700\)/,
  );
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_frozen1' where id = $1",
    [transferId],
  );
  await rejectsWith(
    t,
    pool.query("update settle.seller_transfers set amount = 500 where id = $1", [transferId]),
    "IMMUT",
  );
  await rejectsWith(
    t,
    pool.query("update settle.seller_transfers set currency = 'USD' where id = $1", [transferId]),
    "IMMUT",
  );
  // retry bookkeeping moves freely
  await pool.query(
    "update settle.seller_transfers set retry_count = 3, next_retry_at = now(), last_error = 'x' where id = $1",
    [transferId],
  );
  t.pass();
});

test("legacy_import never changes after insert", async (t) => {
  const { pool } = t.context;
  const { transferId } = await orderWithTransfer(pool);
  await rejectsWith(
    t,
    pool.query("update settle.seller_transfers set legacy_import = true where id = $1", [
      transferId,
    ]),
    "IMMUT",
    /legacy_import .* never changes/,
  );
});

test("ids never change; rows past their initial status cannot be deleted", async (t) => {
  const { pool } = t.context;
  const { orderId, transferId } = await orderWithTransfer(pool);
  await rejectsWith(
    t,
    pool.query("update settle.seller_transfers set id = gen_random_uuid() where id = $1", [
      transferId,
    ]),
    "IMMUT",
  );
  await pool.query("update settle.seller_transfers set status = 'cancelled' where id = $1", [
    transferId,
  ]);
  await rejectsWith(
    t,
    pool.query("delete from settle.seller_transfers where id = $1", [transferId]),
    "IMMUT",
    /is cancelled and cannot be deleted/,
  );
  await moveOrder(pool, orderId, "cancelled");
  await rejectsWith(t, pool.query("delete from settle.orders where id = $1", [orderId]), "IMMUT");
});

test("a pending order with nothing attached may be deleted with its items", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const { orderId } = await insertOrder(pool, buyerId, [{ sellerId, amount: 100 }]);
  await pool.query("delete from settle.orders where id = $1", [orderId]);
  const { rows } = await pool.query(
    "select count(*)::int as n from settle.order_items where order_id = $1",
    [orderId],
  );
  t.is(rows[0].n, 0);
});

const PSP_IDS: Array<[table: string, column: string, make: (pool: pg.Pool) => Promise<string>]> = [
  ["orders", "psp_payment_id", async (pool) => (await orderWithTransfer(pool)).orderId],
  [
    "refunds",
    "hyperswitch_refund_id",
    async (pool) => {
      const { orderId } = await orderWithTransfer(pool);
      const { rows } = await pool.query(
        "insert into settle.refunds (order_id, amount) values ($1, 10) returning id",
        [orderId],
      );
      return rows[0].id;
    },
  ],
  [
    "seller_transfers",
    "stripe_transfer_id",
    async (pool) => (await orderWithTransfer(pool)).transferId,
  ],
  [
    "transfer_reversals",
    "stripe_reversal_id",
    async (pool) => {
      const { transferId, orderId } = await orderWithTransfer(pool);
      const { rows: refund } = await pool.query(
        "insert into settle.refunds (order_id, amount) values ($1, 10) returning id",
        [orderId],
      );
      await pool.query("update settle.refunds set status = 'succeeded' where id = $1", [
        refund[0].id,
      ]);
      const { rows } = await pool.query(
        "insert into settle.transfer_reversals (seller_transfer_id, amount) values ($1, 10) returning id",
        [transferId],
      );
      return rows[0].id;
    },
  ],
  [
    "seller_payouts",
    "external_payout_id",
    async (pool) => {
      const sellerId = await insertSeller(pool);
      await fundSeller(pool, sellerId, 10);
      const { rows } = await pool.query(
        "insert into settle.seller_payouts (seller_id, amount, currency) values ($1, 10, 'EUR') returning id",
        [sellerId],
      );
      return rows[0].id;
    },
  ],
];

for (const [table, column, make] of PSP_IDS) {
  test(`${table}.${column} is unique when present, and blank values do not collide`, async (t) => {
    const { pool } = t.context;
    const a = await make(pool);
    const b = await make(pool);
    const c = await make(pool);
    await pool.query(`update settle.${table} set ${column} = '' where id = any($1)`, [[b, c]]);
    await pool.query(`update settle.${table} set ${column} = $2 where id = $1`, [a, `x_${a}`]);
    const error = await rejectsWith(
      t,
      pool.query(`update settle.${table} set ${column} = $2 where id = $1`, [b, `x_${a}`]),
      "23505",
    );
    t.is(error.constraint, `${table}_${column}_key`);
  });
}

test("sellers.stripe_account_id and subscription_invoices.psp_payment_id are unique when present", async (t) => {
  const { pool } = t.context;
  await pool.query(
    "insert into settle.sellers (stripe_account_id, name) values ('acct_dup1', 'A')",
  );
  const error = await rejectsWith(
    t,
    pool.query("insert into settle.sellers (stripe_account_id, name) values ('acct_dup1', 'B')"),
    "23505",
  );
  t.is(error.constraint, "sellers_stripe_account_id_key");
  const { rows } = await pool.query(
    "select indexdef from pg_indexes where indexname = 'subscription_invoices_psp_payment_id_key'",
  );
  t.regex(
    rows[0].indexdef,
    /UNIQUE .*WHERE \(\(psp_payment_id IS NOT NULL\) AND \(psp_payment_id <> ''::text\)\)/,
  );
});
