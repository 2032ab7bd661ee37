/**
 * A backlog of reversals that appears at once: full refunds of many paid orders
 * applied in one transaction, as a burst of refund_succeeded webhooks would
 * leave them (settle_private.apply_refund_succeeded, the webhook job's own step).
 * Every reversal's job becomes visible at the commit.
 */
import type pg from "pg";
import type { Completion } from "./completion.ts";
import { SELLERS_PER_ORDER } from "./seed.ts";

export interface Backlog {
  reversals: number;
  /** Date.now() when the commit that made the backlog visible returned. */
  appearedAt: number;
}

export async function createReversalBacklog(
  pool: pg.Pool,
  orderIds: readonly string[],
): Promise<Backlog> {
  const c = await pool.connect();
  try {
    await c.query("begin");
    const { rows } = await c.query<{ id: string }>(
      `insert into settle.refunds (order_id, amount, reason)
       select id, total_amount, 'bench backlog' from settle.orders where id = any($1::uuid[])
       returning id`,
      [orderIds],
    );
    await c.query(
      "select settle_private.apply_refund_succeeded(id, 'bench_' || id, now()) from unnest($1::uuid[]) id",
      [rows.map((r) => r.id)],
    );
    await c.query("commit");
    return { reversals: orderIds.length * SELLERS_PER_ORDER, appearedAt: Date.now() };
  } catch (error) {
    await c.query("rollback");
    throw error;
  } finally {
    c.release();
  }
}

/** Waits until `count` more reversals than `before` were recorded, or the deadline passes. */
export async function awaitReversals(
  completion: Completion,
  before: number,
  count: number,
  deadlineMs: number,
): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  while (completion.times("reversal_reversed").length - before < count) {
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return completion.times("reversal_reversed").at(-1) ?? Date.now();
}

/** Reversal rows of these orders that are not reversed. */
export async function notReversed(pool: pg.Pool, orderIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from settle.transfer_reversals r
     join settle.refunds f on f.id = r.refund_id
     where f.order_id = any($1::uuid[]) and r.status <> 'reversed'`,
    [orderIds],
  );
  return rows[0]?.n ?? -1;
}
