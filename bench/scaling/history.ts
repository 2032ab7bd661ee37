/**
 * Historical rows in bulk: what a year of business leaves behind (orders refunded,
 * their transfers made and reversed, refunds succeeded, webhooks processed) plus
 * what piles up in graphile-worker's table (jobs that used up their attempts, jobs
 * scheduled far ahead), so the sweep and the due-job query can be timed against a
 * large database.
 *
 * Rows are inserted directly in their final status. The state-machine triggers
 * would (rightly) refuse that, and the enqueue triggers would give finished rows
 * jobs, so the load runs with session_replication_role = replica, which skips
 * user and foreign-key triggers for this transaction only. The rows are made
 * consistent by construction (every reference exists, amounts add up), so nothing
 * the skipped triggers guard is broken; ANALYZE afterwards gives the planner the
 * real shape of the tables.
 */
import type pg from "pg";

export async function addHistory(pool: pg.Pool, rows: number): Promise<number> {
  const started = performance.now();
  const c = await pool.connect();
  try {
    await c.query("begin");
    await c.query("set local session_replication_role = replica");
    await c.query(
      `create temp table h on commit drop as
       select n, gen_random_uuid() as o, gen_random_uuid() as i, gen_random_uuid() as t,
              gen_random_uuid() as f, gen_random_uuid() as r,
              now() - make_interval(secs => 60 + n % 31536000) as at
       from generate_series(1, $1) n`,
      [rows],
    );
    await c.query(`
      with b as (insert into settle.buyers (email) values ('history-' || gen_random_uuid() || '@example.com') returning id)
      insert into settle.orders (id, buyer_id, currency, total_amount, status, psp_payment_id, created_at, updated_at)
      select h.o, b.id, 'EUR', 1000, 'refunded', 'pay_hist_' || h.o, h.at, h.at from h, b`);
    await c.query(`
      with s as (insert into settle.sellers (stripe_account_id, name)
                 values ('acct_hist' || substr(md5(random()::text), 1, 16), 'History seller') returning id)
      insert into settle.order_items (id, order_id, seller_id, amount, platform_fee, created_at)
      select h.i, h.o, s.id, 1000, 100, h.at from h, s`);
    await c.query(`
      insert into settle.seller_transfers (id, order_id, seller_id, amount, currency, status, stripe_transfer_id, created_at, updated_at)
      select h.t, h.o, i.seller_id, 900, 'EUR', 'reversed', 'tr_hist_' || h.t, h.at, h.at
      from h join settle.order_items i on i.id = h.i`);
    await c.query(`
      insert into settle.refunds (id, order_id, amount, reason, status, hyperswitch_refund_id, created_at, updated_at)
      select h.f, h.o, 1000, 'history', 'succeeded', 'ref_hist_' || h.f, h.at, h.at from h`);
    await c.query(`
      insert into settle.transfer_reversals (id, seller_transfer_id, refund_id, amount, status, stripe_reversal_id, created_at, updated_at)
      select h.r, h.t, h.f, 900, 'reversed', 'trr_hist_' || h.r, h.at, h.at from h`);
    await c.query(`
      insert into settle.webhook_events (provider, event_id, event_type, received_at, processed_at, attempts)
      select 'hyperswitch', 'evt_hist_' || h.f, 'refund_succeeded', h.at, h.at, 1 from h`);
    // Half used up their attempts, half wait for a run_at weeks ahead.
    await c.query(`
      insert into graphile_worker._private_jobs (task_id, payload, run_at, attempts, max_attempts, last_error, created_at)
      select t.id, json_build_object('id', h.r), case when h.n % 2 = 0 then h.at else now() + make_interval(days => 1 + h.n % 60) end,
             case when h.n % 2 = 0 then 25 else 0 end, 25,
             case when h.n % 2 = 0 then 'history' end, h.at
      from h, graphile_worker._private_tasks t where t.identifier = 'transfer_reversals__reverse'`);
    await c.query("commit");
  } catch (error) {
    await c.query("rollback");
    throw error;
  } finally {
    c.release();
  }
  await pool.query(
    "analyze settle.orders, settle.order_items, settle.seller_transfers, settle.refunds, settle.transfer_reversals, settle.webhook_events, graphile_worker._private_jobs",
  );
  return (performance.now() - started) / 1000;
}
