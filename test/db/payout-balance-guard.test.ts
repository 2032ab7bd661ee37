/**
 * A payout never exceeds its seller's available balance, whoever writes it: plain
 * SQL as an operator would (000033), not only settle_private.create_payout.
 * Concurrent inserts for one seller serialize on the seller row, so two of them
 * cannot both pass against the same money.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  type DbContext,
  fundSeller,
  insertSeller,
  rejectsWith,
  useDatabase,
} from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

const insertPayout = (q: Pick<pg.PoolClient, "query">, sellerId: string, amount: number) =>
  q.query<{ id: string }>(
    "insert into settle.seller_payouts (seller_id, amount, currency) values ($1, $2, 'EUR') returning id",
    [sellerId, amount],
  );

const payoutCount = async (pool: pg.Pool, sellerId: string) =>
  (
    await pool.query<{ n: number }>(
      "select count(*)::int as n from settle.seller_payouts where seller_id = $1",
      [sellerId],
    )
  ).rows[0]!.n;

test("a plain INSERT of a payout above the available balance is refused and writes nothing", async (t) => {
  const { pool } = t.context;
  const sellerId = await insertSeller(pool);
  await fundSeller(pool, sellerId, 1000);
  await rejectsWith(
    t,
    insertPayout(pool, sellerId, 1001),
    "BALEX",
    /exceeds what seller .* has available in EUR: 1000$/,
  );
  t.is(await payoutCount(pool, sellerId), 0);

  await insertPayout(pool, sellerId, 600);
  await rejectsWith(t, insertPayout(pool, sellerId, 401), "BALEX", /available in EUR: 400$/);
  await insertPayout(pool, sellerId, 400);
  t.is(await payoutCount(pool, sellerId), 2, "up to the balance is paid out, not a unit more");
});

test("a seller with no money, or none in that currency, cannot be paid out by SQL", async (t) => {
  const { pool } = t.context;
  const unfunded = await insertSeller(pool);
  await rejectsWith(t, insertPayout(pool, unfunded, 1), "BALEX", /available in EUR: 0$/);
  const inUsd = await insertSeller(pool);
  await fundSeller(pool, inUsd, 500, "USD");
  await rejectsWith(t, insertPayout(pool, inUsd, 1), "BALEX");
  t.is(await payoutCount(pool, unfunded), 0);
  t.is(await payoutCount(pool, inUsd), 0);
});

test("a failed payout gives its amount back; raising a pending payout's amount is checked too", async (t) => {
  const { pool } = t.context;
  const sellerId = await insertSeller(pool);
  await fundSeller(pool, sellerId, 1000);
  const { rows } = await insertPayout(pool, sellerId, 1000);
  const first = rows[0]!.id;
  await pool.query("update settle.seller_payouts set status = 'failed' where id = $1", [first]);
  const second = (await insertPayout(pool, sellerId, 700)).rows[0]!.id;
  await rejectsWith(
    t,
    pool.query("update settle.seller_payouts set amount = 1001 where id = $1", [second]),
    "BALEX",
  );
  await pool.query("update settle.seller_payouts set amount = 1000 where id = $1", [second]);
  t.is(
    (await pool.query("select amount::int from settle.seller_payouts where id = $1", [second]))
      .rows[0].amount,
    1000,
  );
});

test("two concurrent inserts cannot both take the same money: the second waits and is refused", async (t) => {
  const { pool } = t.context;
  const sellerId = await insertSeller(pool);
  await fundSeller(pool, sellerId, 1000);
  const a = await pool.connect();
  const b = await pool.connect();
  try {
    await a.query("begin");
    await b.query("begin");
    await insertPayout(a, sellerId, 600);
    let settled = false;
    const second = insertPayout(b, sellerId, 600).finally(() => {
      settled = true;
    });
    second.catch(() => {}); // observed below
    // b waits for a's seller lock: it has not been answered while a is open.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.false(settled, "the second insert waits for the first transaction");
    await a.query("commit");
    await rejectsWith(t, second, "BALEX", /available in EUR: 400$/);
    await b.query("rollback");
  } finally {
    a.release();
    b.release();
  }
  t.is(await payoutCount(pool, sellerId), 1);
});
