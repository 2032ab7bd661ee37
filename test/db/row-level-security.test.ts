/**
 * SPEC §4 roles: each API role sees exactly its rows, and no API role can write a
 * money table directly. Queries run as the server runs them: `set local role` plus
 * the jwt.claims.* settings, inside a transaction.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  asCaller,
  type DbContext,
  insertBuyer,
  insertOrder,
  insertSeller,
  rejectsWith,
  useDatabase,
} from "../support/sql.ts";

interface World {
  buyers: [string, string];
  sellers: [string, string];
  orders: [string, string]; // order 0: buyer 0, both sellers; order 1: buyer 1, seller 1
  transfers: [string, string]; // transfer 0 -> seller 0, transfer 1 -> seller 1 (both order 0)
  reversal: string; // of transfer 1
  refund: string; // of order 0
  payouts: [string, string];
  plan: string;
  subscriptions: [string, string];
  invoices: [string, string];
}

const test = anyTest as TestFn<DbContext & { world: World }>;
useDatabase(test);

const ALL_TABLES = [
  "sellers",
  "buyers",
  "orders",
  "order_items",
  "refunds",
  "seller_transfers",
  "transfer_reversals",
  "seller_payouts",
  "plans",
  "subscriptions",
  "subscription_invoices",
  "webhook_events",
  "state_transitions",
];
const MONEY_TABLES = [
  "orders",
  "order_items",
  "refunds",
  "seller_transfers",
  "transfer_reversals",
  "seller_payouts",
  "subscription_invoices",
];

test.serial.before(async (t) => {
  const { pool } = t.context;
  const q = async (text: string, values: unknown[] = []) =>
    (await pool.query<{ id: string }>(text, values)).rows[0]!.id;
  const buyers: [string, string] = [await insertBuyer(pool), await insertBuyer(pool)];
  const sellers: [string, string] = [await insertSeller(pool), await insertSeller(pool)];
  const o0 = await insertOrder(pool, buyers[0], [
    { sellerId: sellers[0], amount: 1000, platformFee: 100 },
    { sellerId: sellers[1], amount: 500, platformFee: 50 },
  ]);
  const o1 = await insertOrder(pool, buyers[1], [{ sellerId: sellers[1], amount: 300 }]);
  const transfer = (seller: string, amount: number) =>
    q(
      "insert into settle.seller_transfers (order_id, seller_id, amount, currency) values ($1, $2, $3, 'EUR') returning id",
      [o0.orderId, seller, amount],
    );
  const transfers: [string, string] = [
    await transfer(sellers[0], 900),
    await transfer(sellers[1], 450),
  ];
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_rls_' || left(md5(id::text), 10) where id = any($1)",
    [transfers],
  );
  const refund = await q(
    "insert into settle.refunds (order_id, amount) values ($1, 200) returning id",
    [o0.orderId],
  );
  await pool.query("update settle.refunds set status = 'succeeded' where id = $1", [refund]);
  const reversal = await q(
    "insert into settle.transfer_reversals (seller_transfer_id, refund_id, amount) values ($1, $2, 60) returning id",
    [transfers[1], refund],
  );
  const payout = (seller: string) =>
    q(
      "insert into settle.seller_payouts (seller_id, amount, currency) values ($1, 100, 'EUR') returning id",
      [seller],
    );
  const payouts: [string, string] = [await payout(sellers[0]), await payout(sellers[1])];
  const plan = await q(
    "insert into settle.plans (name, amount, currency, interval) values ('Basic', 500, 'EUR', 'month') returning id",
  );
  const sub = (buyer: string) =>
    q(
      "insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end) values ($1, $2, '2026-11-01', '2026-12-01') returning id",
      [buyer, plan],
    );
  const subscriptions: [string, string] = [await sub(buyers[0]), await sub(buyers[1])];
  const invoice = (s: string) =>
    q(
      "insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end) values ($1, 500, 'EUR', '2026-11-01', '2026-12-01') returning id",
      [s],
    );
  const invoices: [string, string] = [
    await invoice(subscriptions[0]),
    await invoice(subscriptions[1]),
  ];
  await pool.query(
    "insert into settle.webhook_events (provider, event_id) values ('stripe', 'evt_rls_1')",
  );
  t.context.world = {
    buyers,
    sellers,
    orders: [o0.orderId, o1.orderId],
    transfers,
    reversal,
    refund,
    payouts,
    plan,
    subscriptions,
    invoices,
  };
});

/** Runs `fn` as the API would for a request with these claims, then rolls back. */
const as = <R>(
  pool: pg.Pool,
  role: string,
  sub: string | null,
  fn: (c: pg.PoolClient) => Promise<R>,
) => asCaller(pool, { role, sub }, fn, { rollback: true });

async function visible(
  pool: pg.Pool,
  role: string,
  sub: string | null,
): Promise<Record<string, string[] | "denied">> {
  const seen: Record<string, string[] | "denied"> = {};
  for (const table of ALL_TABLES) {
    seen[table] = await as(pool, role, sub, async (c) => {
      try {
        const { rows } = await c.query<{ id: string }>(`select id::text from settle.${table}`);
        return rows.map((r) => r.id).sort();
      } catch (error) {
        if ((error as { code?: string }).code === "42501") return "denied" as const;
        throw error;
      }
    });
  }
  return seen;
}

const ids = async (pool: pg.Pool, sql: string, values: unknown[] = []) =>
  (await pool.query<{ id: string }>(sql, values)).rows.map((r) => r.id).sort();

test("settle_anonymous sees nothing in settle", async (t) => {
  const seen = await visible(t.context.pool, "settle_anonymous", null);
  for (const table of ALL_TABLES) t.is(seen[table], "denied", table);
});

test("settle_buyer sees its buyer row, orders and their items, refunds, subscriptions, invoices, all plans", async (t) => {
  const { pool, world: w } = t.context;
  const seen = await visible(pool, "settle_buyer", w.buyers[0]);
  t.deepEqual(seen, {
    sellers: "denied",
    buyers: [w.buyers[0]],
    orders: [w.orders[0]],
    order_items: await ids(pool, "select id::text from settle.order_items where order_id = $1", [
      w.orders[0],
    ]),
    refunds: [w.refund],
    seller_transfers: "denied",
    transfer_reversals: "denied",
    seller_payouts: "denied",
    plans: await ids(pool, "select id::text from settle.plans"),
    subscriptions: [w.subscriptions[0]],
    subscription_invoices: [w.invoices[0]],
    webhook_events: "denied",
    state_transitions: "denied",
  });
  t.is((seen.order_items as string[]).length, 2);
});

test("settle_seller sees its seller row, order items, transfers, reversals, payouts, all plans", async (t) => {
  const { pool, world: w } = t.context;
  const seen = await visible(pool, "settle_seller", w.sellers[1]);
  t.deepEqual(seen, {
    sellers: [w.sellers[1]],
    buyers: "denied",
    orders: "denied",
    order_items: await ids(pool, "select id::text from settle.order_items where seller_id = $1", [
      w.sellers[1],
    ]),
    refunds: "denied",
    seller_transfers: [w.transfers[1]],
    transfer_reversals: [w.reversal],
    seller_payouts: [w.payouts[1]],
    plans: await ids(pool, "select id::text from settle.plans"),
    subscriptions: "denied",
    subscription_invoices: "denied",
    webhook_events: "denied",
    state_transitions: "denied",
  });
  t.is((seen.order_items as string[]).length, 2);
  // The other seller has no reversal.
  const other = await visible(pool, "settle_seller", w.sellers[0]);
  t.deepEqual(other.transfer_reversals, []);
  t.deepEqual(other.seller_transfers, [w.transfers[0]]);
});

test("a buyer or seller JWT without a usable subject sees none of the own-row tables", async (t) => {
  const { pool } = t.context;
  for (const sub of [null, "not-a-uuid", "00000000-0000-0000-0000-000000000000"]) {
    const buyer = await visible(pool, "settle_buyer", sub);
    t.deepEqual(buyer.orders, [], String(sub));
    t.deepEqual(buyer.buyers, [], String(sub));
    const seller = await visible(pool, "settle_seller", sub);
    t.deepEqual(seller.seller_transfers, [], String(sub));
  }
});

test("settle_platform sees every business row but not the webhook and audit logs", async (t) => {
  const { pool } = t.context;
  const seen = await visible(pool, "settle_platform", null);
  for (const table of ALL_TABLES) {
    if (table === "webhook_events" || table === "state_transitions")
      t.is(seen[table], "denied", table);
    else t.deepEqual(seen[table], await ids(pool, `select id::text from settle.${table}`), table);
  }
});

test("settle_admin sees everything, and the ops views", async (t) => {
  const { pool } = t.context;
  const seen = await visible(pool, "settle_admin", null);
  for (const table of ALL_TABLES) {
    t.deepEqual(seen[table], await ids(pool, `select id::text from settle.${table}`), table);
  }
  const summary = await as(pool, "settle_admin", null, (c) =>
    c.query("select * from ops.pipeline_summary"),
  );
  t.true(summary.rows.length > 0);
  await as(pool, "settle_platform", null, (c) =>
    rejectsWith(t, c.query("select * from ops.pipeline_summary"), "42501"),
  );
});

for (const role of [
  "settle_anonymous",
  "settle_platform",
  "settle_buyer",
  "settle_seller",
  "settle_admin",
]) {
  test(`${role} cannot insert, update or delete money rows directly`, async (t) => {
    const { pool, world: w } = t.context;
    const sub =
      role === "settle_buyer" ? w.buyers[0] : role === "settle_seller" ? w.sellers[1] : null;
    for (const table of MONEY_TABLES) {
      await as(pool, role, sub, (c) =>
        rejectsWith(t, c.query(`update settle.${table} set id = id`), "42501"),
      );
      await as(pool, role, sub, (c) =>
        rejectsWith(t, c.query(`delete from settle.${table}`), "42501"),
      );
      await as(pool, role, sub, (c) =>
        rejectsWith(
          t,
          c.query(`insert into settle.${table} select * from settle.${table} limit 0`),
          "42501",
        ),
      );
    }
  });
}

test("no API role holds a write privilege on any table in settle", async (t) => {
  const { rows } = await t.context.pool.query(`
    select grantee, table_name, privilege_type from information_schema.role_table_grants
    where table_schema = 'settle' and grantee like 'settle\\_%' and privilege_type <> 'SELECT'`);
  t.deepEqual(rows, []);
});

test("every table in settle has row-level security enabled", async (t) => {
  const { rows } = await t.context.pool.query(
    "select relname from pg_class where relnamespace = 'settle'::regnamespace and relkind = 'r' and not relrowsecurity",
  );
  t.deepEqual(rows, []);
});
