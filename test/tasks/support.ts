/**
 * A world for the worker's tasks: a test database, the typed pool, the real fake
 * PSPs and our clients on them, a clock the test moves, and rows made the way the
 * flows make them (a paid order gives its transfers through
 * settle_private.apply_payment_succeeded).
 */
import { randomUUID } from "node:crypto";
import type { ExecutionContext } from "ava";
import type { JobHelpers } from "graphile-worker";
import pg from "pg";
import { pino } from "pino";
import { type Config, loadConfig } from "../../src/config.ts";
import { createSlonikPool, type DatabasePool } from "../../src/db/slonik.ts";
import { HyperswitchClient } from "../../src/psp/hyperswitch/client.ts";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../src/psp/hyperswitch/fake/index.ts";
import { type FakeStripe, startFakeStripe } from "../../src/psp/stripe/fake/index.ts";
import { StripeService } from "../../src/psp/stripe/service.ts";
import type { TaskDeps } from "../../src/tasks/deps.ts";
import { createTestDatabase } from "../support/database.ts";

export const silent = pino({ level: "silent" });
/** The tasks read nothing from their helpers but the sweeper; the others get none. */
export const noHelpers = {} as JobHelpers;

export interface World {
  pool: pg.Pool;
  db: DatabasePool;
  stripeFake: FakeStripe;
  hyperswitchFake: FakeHyperswitch;
  deps: TaskDeps;
  clock: { now: number };
  config: Config;
}

export async function world(t: ExecutionContext, env: Record<string, string> = {}): Promise<World> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const db = await createSlonikPool(database.url, { maximumPoolSize: 4, logger: silent });
  const stripeFake = await startFakeStripe({ logger: silent });
  const hyperswitchFake = await startFakeHyperswitch({ logger: silent });
  t.teardown(async () => {
    await stripeFake.close();
    await hyperswitchFake.close();
    await db.end();
    await pool.end();
    await database.drop();
  });
  const config = loadConfig({
    TRANSFER_RETRY_MAX_RETRIES: "3",
    TRANSFER_RETRY_BACKOFF_BASE: "1m",
    TRANSFER_RETRY_BACKOFF_MAX: "3m",
    REVERSAL_MAX_RETRIES: "3",
    REVERSAL_BACKOFF_BASE: "1m",
    REVERSAL_BACKOFF_MAX: "3m",
    STRIPE_MAX_REQUESTS_PER_SECOND: "1000",
    ...env,
  });
  const clock = { now: Date.now() };
  const stripe = new StripeService(
    { secretKey: "sk_test_tasks", apiBase: stripeFake.url, timeoutMs: 2_000, logger: silent },
    Date.now,
  );
  const hyperswitch = new HyperswitchClient({
    baseUrl: hyperswitchFake.url,
    apiKey: hyperswitchFake.apiKey,
    timeoutMs: 2_000,
    logger: silent,
  });
  const deps: TaskDeps = { db, stripe, hyperswitch, config, logger: silent, now: () => clock.now };
  return { pool, db, stripeFake, hyperswitchFake, deps, clock, config };
}

export interface PaidOrder {
  orderId: string;
  sellerIds: string[];
  accounts: string[];
  itemIds: string[];
  transferIds: string[];
}

/** An order of one item per seller, confirmed and paid: its transfer rows exist, pending. */
export async function paidOrder(
  w: World,
  items: Array<{ amount: number; fee?: number }>,
): Promise<PaidOrder> {
  const c = await w.pool.connect();
  try {
    await c.query("begin");
    const buyer = await c.query("insert into settle.buyers (email) values ($1) returning id", [
      `t-${randomUUID()}@x.example`,
    ]);
    const sellerIds: string[] = [];
    const accounts: string[] = [];
    for (const _ of items) {
      const account = `acct_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const seller = await c.query(
        "insert into settle.sellers (stripe_account_id, name) values ($1, 'S') returning id",
        [account],
      );
      sellerIds.push(seller.rows[0].id);
      accounts.push(account);
    }
    const total = items.reduce((s, i) => s + i.amount, 0);
    const order = await c.query(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', $2) returning id",
      [buyer.rows[0].id, total],
    );
    const orderId: string = order.rows[0].id;
    const itemIds: string[] = [];
    for (const [n, item] of items.entries()) {
      const row = await c.query(
        "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, $4) returning id",
        [orderId, sellerIds[n], item.amount, item.fee ?? 0],
      );
      itemIds.push(row.rows[0].id);
    }
    await c.query("commit");
    await w.pool.query("update settle.orders set status = 'payment_pending' where id = $1", [
      orderId,
    ]);
    await w.pool.query("select settle_private.apply_payment_succeeded($1, $2, now())", [
      orderId,
      orderId,
    ]);
    const transfers = await w.pool.query(
      "select t.id from settle.seller_transfers t join unnest($2::uuid[]) with ordinality s(id, n) on s.id = t.seller_id where t.order_id = $1 order by s.n",
      [orderId, sellerIds],
    );
    return { orderId, sellerIds, accounts, itemIds, transferIds: transfers.rows.map((r) => r.id) };
  } finally {
    c.release();
  }
}

export async function row<T = Record<string, unknown>>(
  w: World,
  table: string,
  id: string,
): Promise<T> {
  const { rows } = await w.pool.query(`select * from settle.${table} where id = $1`, [id]);
  return rows[0] as T;
}

export const MINUTE = 60_000;

/**
 * A refund of `amount` that Hyperswitch settled: inserted as the refund's phase 1
 * leaves it, then applied as the refund_succeeded webhook applies it. Gives the
 * refund's id and the ids of the reversals it made.
 */
export async function succeededRefund(
  pool: pg.Pool,
  orderId: string,
  amount: number,
): Promise<{ refundId: string; reversalIds: string[] }> {
  const { rows } = await pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, $2) returning id",
    [orderId, amount],
  );
  const refundId = rows[0]!.id;
  await pool.query("select settle_private.apply_refund_succeeded($1, $2, now())", [
    refundId,
    `ref_${refundId}`,
  ]);
  const reversals = await pool.query<{ id: string }>(
    "select id from settle.transfer_reversals where refund_id = $1 order by created_at, id",
    [refundId],
  );
  return { refundId, reversalIds: reversals.rows.map((r) => r.id) };
}
