/**
 * Small helpers for tests that speak SQL to a test database, as an operator would.
 */
import { randomUUID } from "node:crypto";
import type { ExecutionContext, TestFn } from "ava";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "./database.ts";

export interface DbContext {
  db: TestDatabase;
  pool: pg.Pool;
}

/** Gives the test file its own database (cloned from the template) and a pool on it. */
export function useDatabase<T extends DbContext>(test: TestFn<T>): void {
  test.serial.before(async (t) => {
    const db = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: db.url, max: 6 });
    pool.on("error", () => {}); // a dropped idle client must not crash the file
    t.context.db = db;
    t.context.pool = pool;
  });
  test.after.always(async (t) => {
    await t.context.pool?.end();
    await t.context.db?.drop();
  });
}

/** Runs `fn` in a transaction on its own client; commits, or rolls back and rethrows. */
export async function tx<R>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<R>,
  { rollback = false } = {},
): Promise<R> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query(rollback ? "rollback" : "commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Runs `fn` as the API runs a request: in a transaction, `role` switched with
 * `set local role` and the JWT claims set transaction-locally. `settle_anonymous`
 * gets no claims, like a request without a token.
 */
export function asCaller<R>(
  pool: pg.Pool,
  caller: { role: string; sub?: string | null },
  fn: (client: pg.PoolClient) => Promise<R>,
  options: { rollback?: boolean } = {},
): Promise<R> {
  return tx(
    pool,
    async (client) => {
      const claims = caller.role !== "settle_anonymous";
      await client.query(
        `select set_config('role', $1, true), set_config('jwt.claims.role', $2, true),
                set_config('jwt.claims.sub', $3, true)`,
        [caller.role, claims ? caller.role : "", claims ? (caller.sub ?? "") : ""],
      );
      return fn(client);
    },
    options,
  );
}

export interface PgError extends Error {
  code?: string;
  hint?: string;
  constraint?: string;
}

/** Asserts that `promise` fails with SQLSTATE `code` and returns the error. */
export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<PgError> {
  const error = (await t.throwsAsync(promise)) as PgError | undefined;
  t.is(error?.code, code, `expected SQLSTATE ${code}, got ${error?.code}: ${error?.message}`);
  if (message) t.regex(error?.message ?? "", message);
  return error as PgError;
}

export const uid = () => randomUUID();
export const acct = () => `acct_${randomUUID().replaceAll("-", "").slice(0, 16)}`;

type Queryable = Pick<pg.PoolClient, "query">;

export async function insertBuyer(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    "insert into settle.buyers (email) values ($1) returning id",
    [`b-${uid()}@example.com`],
  );
  return rows[0]!.id;
}

export async function insertSeller(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    "insert into settle.sellers (stripe_account_id, name) values ($1, 'A seller') returning id",
    [acct()],
  );
  return rows[0]!.id;
}

export interface Item {
  sellerId: string;
  amount: number;
  platformFee?: number;
}

/** An order and its items in one transaction (the total is checked at commit). */
export async function insertOrder(
  pool: pg.Pool,
  buyerId: string,
  items: Item[],
  currency = "EUR",
): Promise<{ orderId: string; itemIds: string[] }> {
  return tx(pool, async (c) => {
    const total = items.reduce((s, i) => s + i.amount, 0);
    const { rows } = await c.query<{ id: string }>(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, $2, $3) returning id",
      [buyerId, currency, total],
    );
    const orderId = rows[0]!.id;
    const itemIds: string[] = [];
    for (const item of items) {
      const r = await c.query<{ id: string }>(
        "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, $4) returning id",
        [orderId, item.sellerId, item.amount, item.platformFee ?? 0],
      );
      itemIds.push(r.rows[0]!.id);
    }
    return { orderId, itemIds };
  });
}

/** Moves an order along the given statuses, one legal UPDATE each. */
export async function moveOrder(pool: pg.Pool, orderId: string, ...statuses: string[]) {
  for (const status of statuses) {
    await pool.query("update settle.orders set status = $2 where id = $1", [orderId, status]);
  }
}

/**
 * Gives a seller `amount` it may be paid out, the way money reaches it: an order
 * with one item of that amount (no fee) and its transfer made at Stripe
 * (completed, with a Stripe id). A payout is refused above this (000033).
 */
export async function fundSeller(
  pool: pg.Pool,
  sellerId: string,
  amount: number,
  currency = "EUR",
): Promise<{ orderId: string; transferId: string }> {
  const buyerId = await insertBuyer(pool);
  const { orderId } = await insertOrder(pool, buyerId, [{ sellerId, amount }], currency);
  const { rows } = await pool.query<{ id: string }>(
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency)
     values ($1, $2, $3, $4) returning id`,
    [orderId, sellerId, amount, currency],
  );
  const transferId = rows[0]!.id;
  await pool.query(
    "update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || replace($1::text, '-', '') where id = $1",
    [transferId],
  );
  return { orderId, transferId };
}
