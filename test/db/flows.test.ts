/**
 * The database side of the flows (SPEC §5): what each PSP event does to our rows,
 * how a refund is shared among sellers, the API steps around PSP calls, the jobs
 * enqueued with the state they act on, and the shared request budget.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  asCaller,
  type DbContext,
  insertBuyer,
  insertOrder,
  insertSeller,
  moveOrder,
  rejectsWith,
  useDatabase,
} from "../support/sql.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

const platform = { role: "settle_platform" };
const admin = { role: "settle_admin", sub: "5b0e4a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b" };

async function order(pool: pg.Pool, items: Array<{ amount: number; platformFee: number }>) {
  const buyerId = await insertBuyer(pool);
  const sellerIds: string[] = [];
  for (const _ of items) sellerIds.push(await insertSeller(pool));
  const { orderId, itemIds } = await insertOrder(
    pool,
    buyerId,
    items.map((i, n) => ({ ...i, sellerId: sellerIds[n]! })),
  );
  return { buyerId, sellerIds, orderId, itemIds };
}

async function paid(pool: pg.Pool, items: Array<{ amount: number; platformFee: number }>) {
  const o = await order(pool, items);
  await moveOrder(pool, o.orderId, "payment_pending");
  const { rows } = await pool.query(
    "select settle_private.apply_payment_succeeded($1, $2, now()) as r",
    [o.orderId, `pay_${o.orderId}`],
  );
  if (rows[0].r !== "applied") throw new Error(rows[0].r);
  return o;
}

const transfersOf = async (pool: pg.Pool, orderId: string) =>
  (
    await pool.query<{ id: string; seller_id: string; amount: string; status: string }>(
      "select id, seller_id, amount, status from settle.seller_transfers where order_id = $1 order by created_at, seller_id",
      [orderId],
    )
  ).rows;

const jobsFor = async (pool: pg.Pool, key: string) =>
  (
    await pool.query<{ task_identifier: string; flags: Record<string, true> | null; run_at: Date }>(
      "select task_identifier, flags, run_at from graphile_worker.jobs where key = $1",
      [key],
    )
  ).rows;

async function complete(pool: pg.Pool, transferId: string) {
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || md5(id::text) where id = $1",
    [transferId],
  );
}

async function refund(
  pool: pg.Pool,
  orderId: string,
  amount: number | null,
  items?: Array<[string, number]>,
) {
  const { rows } = await asCaller(pool, platform, (c) =>
    c.query<{ id: string; amount: string }>(
      "select * from settle_api.refund_order_begin($1, $2, 'test', $3::settle_api.refund_line[])",
      [orderId, amount, items ? `{${items.map(([id, a]) => `"(${id},${a})"`).join(",")}}` : null],
    ),
  );
  return rows[0]!;
}

async function succeed(pool: pg.Pool, refundId: string) {
  const { rows } = await pool.query(
    "select settle_private.apply_refund_succeeded($1, $2, now()) as r",
    [refundId, `ref_${refundId}`],
  );
  return rows[0].r as string;
}

const reversalsOf = async (pool: pg.Pool, orderId: string) =>
  (
    await pool.query<{ seller_id: string; amount: string }>(
      `select t.seller_id, r.amount from settle.transfer_reversals r
       join settle.seller_transfers t on t.id = r.seller_transfer_id where t.order_id = $1 order by t.seller_id`,
      [orderId],
    )
  ).rows;

test("payment_succeeded pays the order and gives each seller one transfer of its share, with a job", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [
    { amount: 1000, platformFee: 100 },
    { amount: 500, platformFee: 500 },
  ]);
  const { rows } = await pool.query(
    "select status, psp_payment_id from settle.orders where id = $1",
    [o.orderId],
  );
  t.deepEqual(rows[0], { status: "paid", psp_payment_id: `pay_${o.orderId}` });
  const transfers = await transfersOf(pool, o.orderId);
  // The second seller's share is 0 (all fee): no transfer for it.
  t.deepEqual(
    transfers.map((x) => [x.seller_id, x.amount, x.status]),
    [[o.sellerIds[0], "900", "pending"]],
  );
  const jobs = await jobsFor(pool, `seller_transfers:${transfers[0]!.id}`);
  t.is(jobs.length, 1);
  t.is(jobs[0]!.task_identifier, "seller_transfers__create");
});

test("payment events: early ones wait, repeated and stale ones change nothing, late success on a closed order is a conflict", async (t) => {
  const { pool } = t.context;
  const o = await order(pool, [{ amount: 1000, platformFee: 0 }]);
  const apply = (fn: string, at: string) =>
    pool.query(
      fn === "succeeded"
        ? "select settle_private.apply_payment_succeeded($1, 'pay_x', $2) as r"
        : "select settle_private.apply_payment_failed($1, $2, 'declined') as r",
      [o.orderId, at],
    );
  await rejectsWith(
    t,
    apply("succeeded", "2026-01-01T00:00:00Z"),
    "NOTYT",
    /before the confirmation/,
  );
  await moveOrder(pool, o.orderId, "payment_pending");
  t.is((await apply("succeeded", "2026-01-01T00:00:10Z")).rows[0].r, "applied");
  t.is((await apply("succeeded", "2026-01-01T00:00:10Z")).rows[0].r, "duplicate");
  t.is((await apply("failed", "2026-01-01T00:00:05Z")).rows[0].r, "stale");
  t.is((await transfersOf(pool, o.orderId)).length, 1, "a repeated event makes no second transfer");

  const closed = await order(pool, [{ amount: 300, platformFee: 0 }]);
  await moveOrder(pool, closed.orderId, "cancelled");
  const late = await pool.query(
    "select settle_private.apply_payment_succeeded($1, 'pay_y', now()) as r",
    [closed.orderId],
  );
  t.is(late.rows[0].r, "conflict");
  t.is(
    (await pool.query("select status from settle.orders where id = $1", [closed.orderId])).rows[0]
      .status,
    "cancelled",
  );
});

test("a pro-rata partial refund reverses made transfers by largest remainder, and the parts add up exactly", async (t) => {
  const { pool } = t.context;
  // Shares 300 and 700 of a 1001 total: 1 unit of fee on the first item.
  const o = await paid(pool, [
    { amount: 301, platformFee: 1 },
    { amount: 700, platformFee: 0 },
  ]);
  for (const tr of await transfersOf(pool, o.orderId)) await complete(pool, tr.id);
  const r = await refund(pool, o.orderId, 333);
  t.is(await succeed(pool, r.id), "applied");
  // exact: 333*300/1001 = 99.80, 333*700/1001 = 232.87; total floor(332.67) = 332
  const rev = await reversalsOf(pool, o.orderId);
  const bySeller = Object.fromEntries(rev.map((x) => [x.seller_id, Number(x.amount)]));
  // The unit left over by rounding down goes to the larger remainder (0.87 > 0.80).
  t.is(bySeller[o.sellerIds[0]!], 99);
  t.is(bySeller[o.sellerIds[1]!], 233);
  t.is(
    rev.reduce((s, x) => s + Number(x.amount), 0),
    332,
  );
  t.is(
    (await pool.query("select status from settle.orders where id = $1", [o.orderId])).rows[0]
      .status,
    "partially_refunded",
  );
  t.is(await succeed(pool, r.id), "duplicate");
  t.is((await reversalsOf(pool, o.orderId)).length, 2);
});

test("successive partial refunds end, at the full amount, with every share taken back exactly", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [
    { amount: 333, platformFee: 33 },
    { amount: 667, platformFee: 67 },
    { amount: 1, platformFee: 0 },
  ]);
  for (const tr of await transfersOf(pool, o.orderId)) await complete(pool, tr.id);
  for (const amount of [100, 250, 1, 650]) {
    const r = await refund(pool, o.orderId, amount);
    t.is(await succeed(pool, r.id), "applied");
  }
  const totals = new Map<string, number>();
  for (const x of await reversalsOf(pool, o.orderId)) {
    totals.set(x.seller_id, (totals.get(x.seller_id) ?? 0) + Number(x.amount));
  }
  t.deepEqual(
    [totals.get(o.sellerIds[0]!), totals.get(o.sellerIds[1]!), totals.get(o.sellerIds[2]!)],
    [300, 600, 1],
  );
  t.is(
    (await pool.query("select status from settle.orders where id = $1", [o.orderId])).rows[0]
      .status,
    "refunded",
  );
  const { rows } = await pool.query("select * from ops.money_invariants");
  t.deepEqual(rows, []);
});

test("a refund by items takes back from the sellers of those items only", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [
    { amount: 1000, platformFee: 100 },
    { amount: 500, platformFee: 50 },
  ]);
  for (const tr of await transfersOf(pool, o.orderId)) await complete(pool, tr.id);
  const r = await refund(pool, o.orderId, null, [[o.itemIds[1]!, 250]]);
  t.is(r.amount, "250");
  await succeed(pool, r.id);
  t.deepEqual(
    (await reversalsOf(pool, o.orderId)).map((x) => [x.seller_id, x.amount]),
    [[o.sellerIds[1], "225"]],
  );
});

test("transfers not made yet shrink or are cancelled instead of being reversed", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [
    { amount: 1000, platformFee: 0 },
    { amount: 1000, platformFee: 0 },
  ]);
  const [a, b] = await transfersOf(pool, o.orderId);
  if (!a || !b) throw new Error("two transfers expected");
  await pool.query(
    "update settle.seller_transfers set status = 'failed', next_retry_at = now() + interval '1 hour' where id = $1",
    [b.id],
  );
  const r = await refund(pool, o.orderId, 600);
  await succeed(pool, r.id);
  t.deepEqual(await reversalsOf(pool, o.orderId), []);
  const after = await transfersOf(pool, o.orderId);
  t.deepEqual(
    after.map((x) => [x.id === a.id ? "a" : x.id === b.id ? "b" : "new", x.amount, x.status]),
    [
      ["a", "700", "pending"],
      ["b", "1000", "cancelled"],
      ["new", "700", "pending"],
    ],
  );
  const full = await refund(pool, o.orderId, null);
  t.is(full.amount, "1400");
  await succeed(pool, full.id);
  t.deepEqual(
    (await transfersOf(pool, o.orderId)).map((x) => x.status),
    ["cancelled", "cancelled", "cancelled"],
  );
  t.deepEqual((await pool.query("select * from ops.money_invariants")).rows, []);
});

test("the rest of a permanently failed transfer after a refund stays permanently failed, for an admin to retry", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [{ amount: 1000, platformFee: 0 }]);
  const [tr] = await transfersOf(pool, o.orderId);
  await pool.query(
    "update settle.seller_transfers set status = 'permanently_failed', retry_count = 5, last_error = 'account_invalid: no such destination' where id = $1",
    [tr!.id],
  );
  const r = await refund(pool, o.orderId, 300);
  await succeed(pool, r.id);
  const after = await pool.query<{
    id: string;
    amount: string;
    status: string;
    last_error: string;
  }>(
    "select id, amount, status, last_error from settle.seller_transfers where order_id = $1 order by created_at",
    [o.orderId],
  );
  const rest = after.rows.find((x) => x.id !== tr!.id);
  t.deepEqual(
    after.rows.map((x) => [x.id === tr!.id ? "old" : "rest", x.amount, x.status]),
    [
      ["old", "1000", "cancelled"],
      ["rest", "700", "permanently_failed"],
    ],
  );
  t.is(
    rest?.last_error,
    `the rest of transfer ${tr!.id} after refund ${r.id}; that transfer had permanently failed (account_invalid: no such destination): an admin may retry`,
  );
  t.deepEqual(await reversalsOf(pool, o.orderId), []);
  // Only an admin sends it.
  const { rows } = await asCaller(pool, admin, (c) =>
    c.query("select status from settle_api.retry_transfer($1, 'destination fixed')", [rest!.id]),
  );
  t.is(rows[0].status, "pending");
  t.deepEqual((await pool.query("select * from ops.money_invariants")).rows, []);
});

test("refundOrder's phase 1 refuses with a precise reason and writes nothing", async (t) => {
  const { pool } = t.context;
  const unpaid = await order(pool, [{ amount: 1000, platformFee: 0 }]);
  await rejectsWith(
    t,
    refund(pool, unpaid.orderId, 10),
    "RFEXC",
    /is pending: only a paid order can be refunded/,
  );
  const o = await paid(pool, [
    { amount: 1000, platformFee: 0 },
    { amount: 200, platformFee: 0 },
  ]);
  await rejectsWith(
    t,
    refund(pool, o.orderId, 1201),
    "RFEXC",
    /exceeds what is left to refund of order .*: 1200/,
  );
  await rejectsWith(t, refund(pool, o.orderId, 0), "VALID", /amount: must be a positive integer/);
  await rejectsWith(
    t,
    refund(pool, o.orderId, null, [[o.itemIds[1]!, 201]]),
    "RFEXC",
    /items\[0\]\.amount: 201 exceeds/,
  );
  await rejectsWith(
    t,
    refund(pool, o.orderId, 50, [[o.itemIds[1]!, 40]]),
    "VALID",
    /amount: 50 does not equal the sum of the items 40/,
  );
  await rejectsWith(
    t,
    refund(pool, o.orderId, null, [[unpaid.itemIds[0]!, 1]]),
    "VALID",
    /is not an item of order/,
  );
  await rejectsWith(
    t,
    asCaller(pool, { role: "settle_buyer", sub: o.buyerId }, (c) =>
      c.query("select settle_api.refund_order_begin($1, 10, null, null)", [o.orderId]),
    ),
    "42501",
  );
  const { rows } = await pool.query(
    "select count(*)::int as n from settle.refunds where order_id = $1",
    [o.orderId],
  );
  t.is(rows[0].n, 0);
  const first = await refund(pool, o.orderId, 100);
  await rejectsWith(
    t,
    refund(pool, o.orderId, 100),
    "INFLT",
    new RegExp(`refund ${first.id} of order .* is still pending`),
  );
});

test("confirm: the buyer of the order (or the platform) confirms; a second confirm resumes; others are refused", async (t) => {
  const { pool } = t.context;
  const o = await order(pool, [{ amount: 1000, platformFee: 0 }]);
  const stranger = await insertBuyer(pool);
  await rejectsWith(
    t,
    asCaller(pool, { role: "settle_buyer", sub: stranger }, (c) =>
      c.query("select settle_api.confirm_order_begin($1)", [o.orderId]),
    ),
    "42501",
    /belongs to another buyer/,
  );
  const confirm = () =>
    asCaller(pool, { role: "settle_buyer", sub: o.buyerId }, (c) =>
      c.query<{ status: string }>("select * from settle_api.confirm_order_begin($1)", [o.orderId]),
    );
  t.is((await confirm()).rows[0]!.status, "payment_pending");
  t.is((await confirm()).rows[0]!.status, "payment_pending");
  await moveOrder(pool, o.orderId, "paid");
  await rejectsWith(t, confirm(), "ILTRN", /is paid: only a pending order can be confirmed/);
  await rejectsWith(
    t,
    asCaller(pool, platform, (c) =>
      c.query("select settle_api.confirm_order_begin($1)", [
        "8c1f0d52-0000-4000-8000-000000000000",
      ]),
    ),
    "VALID",
    /orderId: no order/,
  );
});

test("admin retry: only admins, with a reason kept in the audit trail, and only from permanently_failed", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [{ amount: 1000, platformFee: 0 }]);
  const [tr] = await transfersOf(pool, o.orderId);
  await rejectsWith(
    t,
    asCaller(pool, admin, (c) => c.query("select settle_api.retry_transfer($1, 'x')", [tr!.id])),
    "ILTRN",
    /is pending: only a permanently_failed transfer can be retried/,
  );
  await pool.query(
    "update settle.seller_transfers set status = 'permanently_failed', retry_count = 5, last_error = 'x' where id = $1",
    [tr!.id],
  );
  await rejectsWith(
    t,
    asCaller(pool, platform, (c) => c.query("select settle_api.retry_transfer($1, 'x')", [tr!.id])),
    "42501",
  );
  await rejectsWith(
    t,
    asCaller(pool, admin, (c) => c.query("select settle_api.retry_transfer($1, ' ')", [tr!.id])),
    "VALID",
    /reason: say why/,
  );
  const { rows } = await asCaller(pool, admin, (c) =>
    c.query(
      "select status, retry_count from settle_api.retry_transfer($1, 'Stripe account fixed (ticket 42)')",
      [tr!.id],
    ),
  );
  t.deepEqual(rows[0], { status: "pending", retry_count: 0 });
  const audit = await pool.query(
    "select actor, reason from settle.state_transitions where entity_id = $1 order by id desc limit 1",
    [tr!.id],
  );
  t.deepEqual(audit.rows[0], {
    actor: `settle_admin:${admin.sub}`,
    reason: "Stripe account fixed (ticket 42)",
  });
  t.is((await jobsFor(pool, `seller_transfers:${tr!.id}`)).length, 1);
});

test("jobs follow their rows: a retry moves the job's run_at, reversal jobs carry their flag, legacy rows get none", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [{ amount: 1000, platformFee: 0 }]);
  const [tr] = await transfersOf(pool, o.orderId);
  await pool.query(
    "update settle.seller_transfers set status = 'failed', retry_count = 1, next_retry_at = now() + interval '10 minutes' where id = $1",
    [tr!.id],
  );
  const [job] = await jobsFor(pool, `seller_transfers:${tr!.id}`);
  t.true(job!.run_at.getTime() > Date.now() + 9 * 60_000);
  await complete(pool, tr!.id);
  const r = await refund(pool, o.orderId, 100);
  await succeed(pool, r.id);
  const rev = await pool.query<{ id: string }>(
    "select r.id from settle.transfer_reversals r where r.seller_transfer_id = $1",
    [tr!.id],
  );
  const [reversalJob] = await jobsFor(pool, `transfer_reversals:${rev.rows[0]!.id}`);
  t.is(reversalJob!.task_identifier, "transfer_reversals__reverse");
  t.deepEqual(reversalJob!.flags, { reversals: true });
  const other = await order(pool, [{ amount: 5, platformFee: 0 }]);
  const legacy = await pool.query<{ id: string }>(
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
     values ($1, $2, 5, 'EUR', 'pending', true) returning id`,
    [other.orderId, other.sellerIds[0]],
  );
  t.deepEqual(
    await jobsFor(pool, `seller_transfers:${legacy.rows[0]!.id}`),
    [],
    "history is never re-driven by itself",
  );
  const hook = await pool.query<{ id: string }>(
    "insert into settle.webhook_events (provider, event_id) values ('stripe', 'evt_flow_1') returning id",
  );
  t.is(
    (await jobsFor(pool, `webhook_events:${hook.rows[0]!.id}`))[0]!.task_identifier,
    "webhook_events__process",
  );
});

test("the shared request budget paces callers to the rate", async (t) => {
  const { pool } = t.context;
  const slots: number[] = [];
  for (let i = 0; i < 6; i++) {
    // When the caller may send: now plus the wait it was told.
    const { rows } = await pool.query(
      "select extract(epoch from clock_timestamp()) + settle_private.take_rate_slot('test-budget', 5) as slot",
    );
    slots.push(Number(rows[0].slot));
  }
  // 5/s: consecutive slots 200 ms apart, however fast the callers come.
  for (let i = 1; i < slots.length; i++) {
    const gap = slots[i]! - slots[i - 1]!;
    t.true(Math.abs(gap - 0.2) < 0.01, `gap ${i} is ${gap}`);
  }
});

test("a transfer finishing while a refund of its order is applied: no deadlock, the refund reverses it", async (t) => {
  const { pool } = t.context;
  const o = await paid(pool, [{ amount: 1000, platformFee: 0 }]);
  const [tr] = await transfersOf(pool, o.orderId);
  const r = await refund(pool, o.orderId, null);
  const job = await pool.connect();
  try {
    // The transfer job: holds its row through the Stripe call, then records it.
    await job.query("begin");
    await job.query("select 1 from settle.seller_transfers where id = $1 for no key update", [
      tr!.id,
    ]);
    await job.query(
      "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_race_1' where id = $1",
      [tr!.id],
    );
    // The refund webhook arrives meanwhile and waits for the row.
    const applied = succeed(pool, r.id);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past deadlock_timeout
    await job.query("commit");
    t.is(await applied, "applied");
  } finally {
    job.release();
  }
  const after = await transfersOf(pool, o.orderId);
  t.is(after.length, 1);
  t.is(after[0]?.status, "completed", "made, so reversed by a reversal row, not cancelled");
  t.deepEqual(
    (await reversalsOf(pool, o.orderId)).map((x) => x.amount),
    ["1000"],
  );
});
