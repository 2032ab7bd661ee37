/**
 * The payment gate (SPEC §4): no write, whoever makes it, leaves a subscription
 * active without a paid invoice covering its current period.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import { type DbContext, insertBuyer, rejectsWith, tx, useDatabase } from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

async function subscription(pool: pg.Pool, start = "2026-11-01", end = "2026-12-01") {
  const buyerId = await insertBuyer(pool);
  const { rows: plan } = await pool.query(
    "insert into settle.plans (name, amount, currency, interval) values ('Pro', 900, 'EUR', 'month') returning id",
  );
  const { rows } = await pool.query<{ id: string }>(
    `insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end)
     values ($1, $2, $3, $4) returning id`,
    [buyerId, plan[0].id, start, end],
  );
  return rows[0]!.id;
}

const invoice = (q: Pick<pg.Pool, "query">, subId: string, start: string, end: string) =>
  q
    .query<{ id: string }>(
      `insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
       values ($1, 900, 'EUR', $2, $3) returning id`,
      [subId, start, end],
    )
    .then((r) => r.rows[0]!.id);

test("activating without any invoice is refused (SUBGT)", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  await rejectsWith(
    t,
    pool.query("update settle.subscriptions set status = 'active' where id = $1", [id]),
    "SUBGT",
    /cannot be active: no paid invoice covers its period/,
  );
  const { rows } = await pool.query("select status from settle.subscriptions where id = $1", [id]);
  t.is(rows[0].status, "incomplete");
});

test("an invoice that is pending or failed does not open the gate", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  const inv = await invoice(pool, id, "2026-11-01", "2026-12-01");
  await rejectsWith(
    t,
    pool.query("update settle.subscriptions set status = 'active' where id = $1", [id]),
    "SUBGT",
  );
  await pool.query("update settle.subscription_invoices set status = 'failed' where id = $1", [
    inv,
  ]);
  await rejectsWith(
    t,
    pool.query("update settle.subscriptions set status = 'active' where id = $1", [id]),
    "SUBGT",
  );
});

test("a paid invoice for another period does not open the gate", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  const inv = await invoice(pool, id, "2026-10-01", "2026-11-15");
  await pool.query("update settle.subscription_invoices set status = 'paid' where id = $1", [inv]);
  await rejectsWith(
    t,
    pool.query("update settle.subscriptions set status = 'active' where id = $1", [id]),
    "SUBGT",
  );
});

test("paying the period's invoice and activating in one transaction is accepted", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  await tx(pool, async (c) => {
    const inv = await invoice(c, id, "2026-11-01", "2026-12-01");
    await c.query("update settle.subscription_invoices set status = 'paid' where id = $1", [inv]);
    await c.query("update settle.subscriptions set status = 'active' where id = $1", [id]);
  });
  const { rows } = await pool.query("select status from settle.subscriptions where id = $1", [id]);
  t.is(rows[0].status, "active");
});

test("a renewal that moves the period needs the new period's invoice paid", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  await tx(pool, async (c) => {
    const inv = await invoice(c, id, "2026-11-01", "2026-12-01");
    await c.query("update settle.subscription_invoices set status = 'paid' where id = $1", [inv]);
    await c.query("update settle.subscriptions set status = 'active' where id = $1", [id]);
  });
  const renew = pool.query(
    `update settle.subscriptions set status = 'active',
       current_period_start = '2026-12-01', current_period_end = '2027-01-01' where id = $1`,
    [id],
  );
  await rejectsWith(t, renew, "SUBGT");
  // Moving the period without naming the status is caught just the same.
  await rejectsWith(
    t,
    pool.query("update settle.subscriptions set current_period_end = '2027-01-01' where id = $1", [
      id,
    ]),
    "SUBGT",
  );
  const next = await invoice(pool, id, "2026-12-01", "2027-01-01");
  await pool.query("update settle.subscription_invoices set status = 'paid' where id = $1", [next]);
  await pool.query(
    `update settle.subscriptions set status = 'active',
       current_period_start = '2026-12-01', current_period_end = '2027-01-01' where id = $1`,
    [id],
  );
  t.pass();
});

test("a paid invoice cannot be un-paid, re-dated or deleted to pull the rug", async (t) => {
  const { pool } = t.context;
  const id = await subscription(pool);
  const inv = await invoice(pool, id, "2026-11-01", "2026-12-01");
  await pool.query("update settle.subscription_invoices set status = 'paid' where id = $1", [inv]);
  await pool.query("update settle.subscriptions set status = 'active' where id = $1", [id]);
  await rejectsWith(
    t,
    pool.query("update settle.subscription_invoices set status = 'failed' where id = $1", [inv]),
    "ILTRN",
  );
  await rejectsWith(
    t,
    pool.query("update settle.subscription_invoices set period_end = '2026-11-02' where id = $1", [
      inv,
    ]),
    "IMMUT",
  );
  await rejectsWith(
    t,
    pool.query("delete from settle.subscription_invoices where id = $1", [inv]),
    "IMMUT",
  );
});
