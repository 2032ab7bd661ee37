/**
 * The SECURITY DEFINER entry points: they check the caller, validate input with a
 * precise message, and a refusal writes nothing.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  acct,
  asCaller,
  type DbContext,
  insertBuyer,
  insertSeller,
  rejectsWith,
  useDatabase,
} from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

const as = <R>(pool: pg.Pool, role: string, fn: (c: pg.PoolClient) => Promise<R>) =>
  asCaller(pool, { role }, fn);

const count = async (pool: pg.Pool, sql: string, values: unknown[]) =>
  (await pool.query(sql, values)).rows[0].n as number;

test("register_seller creates a seller for the platform and audits nothing it should not", async (t) => {
  const { pool } = t.context;
  const account = acct();
  const { rows } = await as(pool, "settle_platform", (c) =>
    c.query("select * from settle.register_seller('  Ada''s shop ', $1)", [account]),
  );
  t.is(rows[0].name, "Ada's shop");
  t.is(rows[0].stripe_account_id, account);
});

test("register_seller refuses bad input with a precise message and writes nothing", async (t) => {
  const { pool } = t.context;
  const accounts = [acct(), acct(), acct()];
  const cases: Array<[string | null, string | null, RegExp]> = [
    ["", accounts[0]!, /name: must not be empty/],
    [null, accounts[1]!, /name: must not be empty/],
    ["x".repeat(201), accounts[2]!, /name: at most 200 characters/],
    [
      "Shop",
      "ba_123",
      /stripeAccountId: must be a Stripe connected account id \(acct_\.\.\.\), got 'ba_123'/,
    ],
    ["Shop", null, /stripeAccountId: must be a Stripe connected account id/],
  ];
  for (const [name, account, message] of cases) {
    await rejectsWith(
      t,
      as(pool, "settle_platform", (c) =>
        c.query("select settle.register_seller($1, $2)", [name, account]),
      ),
      "VALID",
      message,
    );
  }
  const taken = acct();
  accounts.push(taken);
  await as(pool, "settle_platform", (c) =>
    c.query("select settle.register_seller('A', $1)", [taken]),
  );
  await rejectsWith(
    t,
    as(pool, "settle_platform", (c) => c.query("select settle.register_seller('B', $1)", [taken])),
    "VALID",
    /is already registered to another seller/,
  );
  const sellers = "select count(*)::int as n from settle.sellers where stripe_account_id = any($1)";
  t.is(await count(pool, sellers, [accounts]), 1);
});

test("register_buyer validates the e-mail", async (t) => {
  const { pool } = t.context;
  const { rows } = await as(pool, "settle_admin", (c) =>
    c.query("select * from settle.register_buyer('a@b.example')"),
  );
  t.is(rows[0].email, "a@b.example");
  await rejectsWith(
    t,
    as(pool, "settle_platform", (c) => c.query("select settle.register_buyer('not an address')")),
    "VALID",
    /email: must be an e-mail address, got 'not an address'/,
  );
});

test("only the platform and admins may register and create orders", async (t) => {
  const { pool } = t.context;
  for (const role of ["settle_buyer", "settle_seller", "settle_anonymous"]) {
    await rejectsWith(
      t,
      as(pool, role, (c) => c.query("select settle.register_seller('S', $1)", [acct()])),
      "42501",
    );
    await rejectsWith(
      t,
      as(pool, role, (c) => c.query("select settle.register_buyer('x@y.example')")),
      "42501",
    );
  }
  // Even with EXECUTE, the function refuses a role claim it does not serve.
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('jwt.claims.role', 'settle_buyer', true)");
    await rejectsWith(
      t,
      client.query("select settle.register_buyer('x@y.example')"),
      "42501",
      /role settle_buyer may not do this/,
    );
  } finally {
    await client.query("rollback");
    client.release();
  }
});

test("create_order creates the order and its items with the total as their sum", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const [s1, s2] = [await insertSeller(pool), await insertSeller(pool)];
  const { rows } = await as(pool, "settle_platform", (c) =>
    c.query(
      "select * from settle.create_order($1, 'EUR', array[row($2, 1200, 200), row($3, 800, 0)]::settle.new_order_item[])",
      [buyerId, s1, s2],
    ),
  );
  const order = rows[0];
  t.is(order.status, "pending");
  t.is(order.total_amount, "2000");
  const items = await pool.query(
    "select seller_id, amount::int, platform_fee::int from settle.order_items where order_id = $1 order by amount desc",
    [order.id],
  );
  t.deepEqual(items.rows, [
    { seller_id: s1, amount: 1200, platform_fee: 200 },
    { seller_id: s2, amount: 800, platform_fee: 0 },
  ]);
  const audit = await pool.query(
    "select actor from settle.state_transitions where entity_id = $1",
    [order.id],
  );
  t.deepEqual(audit.rows, [{ actor: "settle_platform" }]);
});

test("create_order refuses bad input with a precise message and writes nothing", async (t) => {
  const { pool } = t.context;
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const ghost = "0a1b2c3d-0000-4000-8000-000000000000";
  const cases: Array<[unknown[], string, RegExp]> = [
    [[null, "EUR", `{"(${sellerId},100,0)"}`], "VALID", /buyerId: required/],
    [[ghost, "EUR", `{"(${sellerId},100,0)"}`], "VALID", new RegExp(`buyerId: no buyer ${ghost}`)],
    [
      [buyerId, "eur", `{"(${sellerId},100,0)"}`],
      "VALID",
      /currency: must be an ISO-4217 code in upper case \(e.g. EUR\), got 'eur'/,
    ],
    [[buyerId, "EUR", "{}"], "VALID", /items: at least one item is required/],
    [[buyerId, "EUR", null], "VALID", /items: at least one item is required/],
    [
      [buyerId, "EUR", `{"(${sellerId},100,0)","(${ghost},100,0)"}`],
      "VALID",
      new RegExp(`items\\[1\\]\\.sellerId: no seller ${ghost}`),
    ],
    [
      [buyerId, "EUR", `{"(${sellerId},0,0)"}`],
      "VALID",
      /items\[0\]\.amount: must be a positive integer of minor units, got 0/,
    ],
    [
      [buyerId, "EUR", `{"(${sellerId},100,101)"}`],
      "VALID",
      /items\[0\]\.platformFee: must be between 0 and the item amount 100, got 101/,
    ],
    [[buyerId, "EUR", `{"(${sellerId},100,)"}`], "VALID", /items\[0\]\.platformFee: .* got null/],
  ];
  for (const [args, code, message] of cases) {
    await rejectsWith(
      t,
      as(pool, "settle_platform", (c) =>
        c.query("select settle.create_order($1, $2, $3::settle.new_order_item[])", args),
      ),
      code,
      message,
    );
  }
  const orders = "select count(*)::int as n from settle.orders where buyer_id = $1";
  const items = "select count(*)::int as n from settle.order_items where seller_id = $1";
  t.deepEqual([await count(pool, orders, [buyerId]), await count(pool, items, [sellerId])], [0, 0]);
});
