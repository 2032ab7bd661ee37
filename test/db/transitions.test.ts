/**
 * Every (from, to) pair of every state machine, tried with plain SQL as an operator
 * would: the pairs SPEC §4 allows are accepted and audited, every other pair is
 * rejected by the database with an error naming the entity, from and to.
 */
import anyTest, { type TestFn } from "ava";
import type pg from "pg";
import {
  type DbContext,
  fundSeller,
  insertBuyer,
  insertOrder,
  insertSeller,
  rejectsWith,
  tx,
  useDatabase,
} from "../support/sql.ts";
import { isAllowed, MACHINES, pathTo } from "./spec-transitions.ts";

const test = anyTest as TestFn<DbContext>;
useDatabase(test);

interface Scenario {
  /** Inserts a fresh row in its initial status (and whatever it needs), returns its id. */
  create(pool: pg.Pool): Promise<string>;
  /** Columns a row must carry in `to` (PSP ids), set in the same UPDATE. */
  extra?(to: string): string;
  /** What must exist before the row may enter `to` (a transfer's reversals). */
  before?(pool: pg.Pool, id: string, to: string): Promise<void>;
}

const fill = (col: string, prefix: string) =>
  `, ${col} = coalesce(nullif(${col}, ''), '${prefix}' || replace(gen_random_uuid()::text, '-', ''))`;

async function orderFor(pool: pg.Pool) {
  const buyerId = await insertBuyer(pool);
  const sellerId = await insertSeller(pool);
  const { orderId } = await insertOrder(pool, buyerId, [
    { sellerId, amount: 1000, platformFee: 100 },
  ]);
  return { buyerId, sellerId, orderId };
}

async function one(pool: pg.Pool, text: string, values: unknown[]): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(text, values);
  return rows[0]!.id;
}

/** A subscription for [2026-11-01, 2026-12-01) with that period's invoice. */
function subscriptionWithInvoice(pool: pg.Pool, { paid }: { paid: boolean }) {
  return tx(pool, async (c) => {
    const buyerId = await insertBuyer(c);
    const plan = await c.query<{ id: string }>(
      "insert into settle.plans (name, amount, currency, interval) values ('Pro', 900, 'EUR', 'month') returning id",
    );
    const sub = await c.query<{ id: string }>(
      `insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end)
       values ($1, $2, '2026-11-01', '2026-12-01') returning id`,
      [buyerId, plan.rows[0]!.id],
    );
    const subscriptionId = sub.rows[0]!.id;
    const inv = await c.query<{ id: string }>(
      `insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
       values ($1, 900, 'EUR', '2026-11-01', '2026-12-01') returning id`,
      [subscriptionId],
    );
    const invoiceId = inv.rows[0]!.id;
    if (paid)
      await c.query("update settle.subscription_invoices set status = 'paid' where id = $1", [
        invoiceId,
      ]);
    return { subscriptionId, invoiceId };
  });
}

const SCENARIOS: Record<string, Scenario> = {
  orders: { create: async (pool) => (await orderFor(pool)).orderId },
  refunds: {
    create: async (pool) => {
      const { orderId } = await orderFor(pool);
      return one(
        pool,
        "insert into settle.refunds (order_id, amount) values ($1, 400) returning id",
        [orderId],
      );
    },
  },
  seller_transfers: {
    create: async (pool) => {
      const { orderId, sellerId } = await orderFor(pool);
      return one(
        pool,
        `insert into settle.seller_transfers (order_id, seller_id, amount, currency)
         values ($1, $2, 900, 'EUR') returning id`,
        [orderId, sellerId],
      );
    },
    extra: (to) =>
      ["completed", "partially_reversed", "reversed"].includes(to)
        ? fill("stripe_transfer_id", "tr_")
        : "",
    // A transfer is (partially_)reversed only as far as its reversed reversals go
    // (000045): 100 more for each partial step, the rest for `reversed`. Loaded
    // as data (triggers off), so that the UPDATE under test is what moves it.
    before: async (pool, id, to) => {
      if (to !== "partially_reversed" && to !== "reversed") return;
      await tx(pool, async (c) => {
        await c.query("set local session_replication_role = replica");
        await c.query(
          `insert into settle.transfer_reversals (seller_transfer_id, amount, status, stripe_reversal_id)
           select t.id, case when $2 = 'reversed' then t.amount - coalesce(r.done, 0) else 100 end,
                  'reversed', 'trr_' || replace(gen_random_uuid()::text, '-', '')
           from settle.seller_transfers t
           left join (select seller_transfer_id, sum(amount) as done from settle.transfer_reversals
                      where status = 'reversed' group by seller_transfer_id) r on r.seller_transfer_id = t.id
           where t.id = $1 and ($2 <> 'reversed' or t.amount > coalesce(r.done, 0))`,
          [id, to],
        );
      });
    },
  },
  transfer_reversals: {
    create: async (pool) => {
      const { orderId, sellerId } = await orderFor(pool);
      const transferId = await one(
        pool,
        `insert into settle.seller_transfers (order_id, seller_id, amount, currency)
         values ($1, $2, 900, 'EUR') returning id`,
        [orderId, sellerId],
      );
      await pool.query(
        "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || $2 where id = $1",
        [transferId, transferId.replaceAll("-", "")],
      );
      const refundId = await one(
        pool,
        "insert into settle.refunds (order_id, amount) values ($1, 500) returning id",
        [orderId],
      );
      await pool.query("update settle.refunds set status = 'succeeded' where id = $1", [refundId]);
      return one(
        pool,
        `insert into settle.transfer_reversals (seller_transfer_id, refund_id, amount)
         values ($1, $2, 300) returning id`,
        [transferId, refundId],
      );
    },
    extra: (to) => (to === "reversed" ? fill("stripe_reversal_id", "trr_") : ""),
  },
  seller_payouts: {
    create: async (pool) => {
      const sellerId = await insertSeller(pool);
      await fundSeller(pool, sellerId, 700);
      return one(
        pool,
        "insert into settle.seller_payouts (seller_id, amount, currency) values ($1, 700, 'EUR') returning id",
        [sellerId],
      );
    },
  },
  // The current period's invoice is paid up front, so `active` is reachable.
  subscriptions: {
    create: async (pool) => (await subscriptionWithInvoice(pool, { paid: true })).subscriptionId,
  },
  subscription_invoices: {
    create: async (pool) => (await subscriptionWithInvoice(pool, { paid: false })).invoiceId,
  },
};

async function move(pool: pg.Pool, entity: string, id: string, to: string) {
  const scenario = SCENARIOS[entity]!;
  await scenario.before?.(pool, id, to);
  const extra = scenario.extra?.(to) ?? "";
  return pool.query(`update settle.${entity} set status = $2${extra} where id = $1`, [id, to]);
}

async function rowIn(pool: pg.Pool, entity: string, status: string): Promise<string> {
  const id = await SCENARIOS[entity]!.create(pool);
  for (const step of pathTo(MACHINES[entity]!, status)) await move(pool, entity, id, step);
  return id;
}

for (const [entity, machine] of Object.entries(MACHINES)) {
  for (const from of machine.statuses) {
    for (const to of machine.statuses) {
      if (isAllowed(machine, from, to)) {
        test(`${entity}: ${from} -> ${to} is accepted and audited`, async (t) => {
          const { pool } = t.context;
          const id = await rowIn(pool, entity, from);
          await move(pool, entity, id, to);
          const { rows } = await pool.query(
            `select from_status, to_status, actor from settle.state_transitions
             where entity = $1 and entity_id = $2 order by id desc limit 1`,
            [entity, id],
          );
          t.deepEqual(rows[0], { from_status: from, to_status: to, actor: "sql" });
          const now = await pool.query(`select status from settle.${entity} where id = $1`, [id]);
          t.is(now.rows[0].status, to);
        });
      } else {
        test(`${entity}: ${from} -> ${to} is rejected`, async (t) => {
          const { pool } = t.context;
          const id = await rowIn(pool, entity, from);
          const audited =
            "select count(*)::int as n from settle.state_transitions where entity_id = $1";
          const before = await pool.query(audited, [id]);
          const error = await rejectsWith(t, move(pool, entity, id, to), "ILTRN");
          t.true(error.message.includes(entity), error.message);
          t.true(error.message.includes(`${from} -> ${to}`), error.message);
          const after = await pool.query(`select status from settle.${entity} where id = $1`, [id]);
          t.is(after.rows[0].status, from);
          const audit = await pool.query(audited, [id]);
          t.is(audit.rows[0].n, before.rows[0].n);
        });
      }
    }
  }

  test(`${entity}: the whole history is audited from the insert on`, async (t) => {
    const { pool } = t.context;
    const target = machine.statuses.reduce((a, s) =>
      pathTo(machine, s).length > pathTo(machine, a).length ? s : a,
    );
    const id = await rowIn(pool, entity, target);
    const { rows } = await pool.query<{ from_status: string | null; to_status: string }>(
      "select from_status, to_status from settle.state_transitions where entity = $1 and entity_id = $2 order by id",
      [entity, id],
    );
    const path = pathTo(machine, target);
    t.deepEqual(
      rows.map((r) => [r.from_status, r.to_status]),
      [
        [null, machine.initial],
        ...path.map((s, i) => [i === 0 ? machine.initial : path[i - 1]!, s]),
      ],
    );
  });

  for (const status of machine.statuses.filter((s) => s !== machine.initial)) {
    test(`${entity}: a row cannot be inserted in ${status}`, async (t) => {
      const { pool } = t.context;
      const id = await SCENARIOS[entity]!.create(pool);
      // Copy a valid row under a new id, changing only the status.
      const copy = pool.query(
        `insert into settle.${entity} select (jsonb_populate_record(null::settle.${entity},
           to_jsonb(r) || jsonb_build_object('id', gen_random_uuid(), 'status', $2::text))).*
         from settle.${entity} r where id = $1`,
        [id, status],
      );
      await rejectsWith(
        t,
        copy,
        "INITS",
        new RegExp(`${entity} .* cannot be created in status ${status}`),
      );
    });
  }
}

test("seller_transfers: (partially_)reversed only as far as its reversed reversals go; a legacy import is exempt", async (t) => {
  const { pool } = t.context;
  const id = await SCENARIOS.seller_transfers!.create(pool);
  await move(pool, "seller_transfers", id, "completed");
  const bare = (to: string) =>
    pool.query("update settle.seller_transfers set status = $2 where id = $1", [id, to]);
  await rejectsWith(
    t,
    bare("reversed"),
    "ILTRN",
    new RegExp(
      `seller_transfers ${id}: completed -> reversed: its reversed reversals cover 0 of 900`,
    ),
  );
  await rejectsWith(t, bare("partially_reversed"), "ILTRN", /cover 0 of 900/);
  await tx(pool, async (c) => {
    await c.query("set local session_replication_role = replica");
    await c.query(
      "insert into settle.transfer_reversals (seller_transfer_id, amount, status, stripe_reversal_id) values ($1, 300, 'reversed', 'trr_follow1')",
      [id],
    );
  });
  await rejectsWith(t, bare("reversed"), "ILTRN", /cover 300 of 900/);
  await bare("partially_reversed");

  const { orderId, sellerId } = await orderFor(pool);
  const legacy = await one(
    pool,
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import, stripe_transfer_id)
     values ($1, $2, 900, 'EUR', 'completed', true, 'tr_legacy_follow1') returning id`,
    [orderId, sellerId],
  );
  await pool.query("update settle.seller_transfers set status = 'reversed' where id = $1", [
    legacy,
  ]);
  const { rows } = await pool.query(
    "select status from settle.seller_transfers where id = any($1) order by status",
    [[id, legacy]],
  );
  t.deepEqual(
    rows.map((r) => r.status),
    ["partially_reversed", "reversed"],
  );
});

test("seller_transfers: a legacy import may be inserted in completed without a Stripe id", async (t) => {
  const { pool } = t.context;
  const { orderId, sellerId } = await orderFor(pool);
  const id = await one(
    pool,
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
     values ($1, $2, 900, 'EUR', 'completed', true) returning id`,
    [orderId, sellerId],
  );
  const { rows } = await pool.query(
    "select from_status, to_status from settle.state_transitions where entity_id = $1",
    [id],
  );
  t.deepEqual(rows, [{ from_status: null, to_status: "completed" }]);
});

test("the actor is the JWT role and subject inside an API request, the task for a worker", async (t) => {
  const { pool } = t.context;
  const { orderId } = await orderFor(pool);
  await tx(pool, async (c) => {
    await c.query("select set_config('jwt.claims.role', 'settle_admin', true)");
    await c.query(
      "select set_config('jwt.claims.sub', '7d7e3b58-9a1c-4a57-8d0e-5a1a2f8f9c11', true)",
    );
    await c.query("update settle.orders set status = 'payment_pending' where id = $1", [orderId]);
  });
  await tx(pool, async (c) => {
    await c.query("select set_config('settle.actor', 'task:payment__succeeded', true)");
    await c.query("select set_config('settle.reason', 'webhook evt_1', true)");
    await c.query("update settle.orders set status = 'paid' where id = $1", [orderId]);
  });
  const { rows } = await pool.query(
    "select to_status, actor, reason from settle.state_transitions where entity_id = $1 order by id",
    [orderId],
  );
  t.deepEqual(rows, [
    { to_status: "pending", actor: "sql", reason: null },
    {
      to_status: "payment_pending",
      actor: "settle_admin:7d7e3b58-9a1c-4a57-8d0e-5a1a2f8f9c11",
      reason: null,
    },
    { to_status: "paid", actor: "task:payment__succeeded", reason: "webhook evt_1" },
  ]);
});

test("the database's rules match the contract exactly", async (t) => {
  const { pool } = t.context;
  const { rows } = await pool.query<{ entity: string; from_status: string; to_status: string }>(
    "select entity, from_status, to_status from settle_private.allowed_transitions order by 1, 2, 3",
  );
  const expected = Object.entries(MACHINES).flatMap(([entity, m]) =>
    m.allowed.map(([from, to]) => `${entity} ${from} ${to}`),
  );
  t.deepEqual(
    rows.map((r) => `${r.entity} ${r.from_status} ${r.to_status}`).sort(),
    expected.sort(),
  );
});
