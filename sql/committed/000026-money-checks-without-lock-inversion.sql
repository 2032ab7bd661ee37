--! Previous: sha1:81a694bf8fb9fc32c20de3cb4355adc55ba38e3d
--! Hash: sha1:7ad9fcf68df8faff00bdc2423515f2e02d0c0a0b
--! Message: money checks without lock inversion

/*
 * A transfer or reversal finishing must not lock its order. The money checks of
 * 000013 lock the order (or transfer) they sum under; run at the COMMIT of a
 * transfer job, which holds its transfer row through the Stripe call, that took the
 * order lock AFTER the transfer lock, while a refund being applied takes the order
 * first and the transfers second. The two deadlocked, Postgres cancelled one, and
 * when the victim was the transfer job, the refund then cancelled a transfer that
 * Stripe had made: money left at the seller, invisible to the books.
 *
 * The sums checked (transfers not cancelled, reversals not permanently_failed)
 * can only grow by an insert, a changed amount or key, or a row leaving the
 * excluded status. Every other update (a status moving on, PSP ids, retry
 * bookkeeping) cannot break them, so it no longer runs the check, and no longer
 * takes the lock. The checks themselves are unchanged.
 */
drop trigger _800_check_money on settle.seller_transfers;
create constraint trigger _800_check_money after insert on settle.seller_transfers
  deferrable initially deferred
  for each row execute function settle_private.tg_seller_transfers__check_money();
create constraint trigger _801_check_money_on_update
  after update of amount, status, currency, order_id, seller_id on settle.seller_transfers
  deferrable initially deferred
  for each row
  when (NEW.amount <> OLD.amount or NEW.currency <> OLD.currency or NEW.order_id <> OLD.order_id
        or NEW.seller_id <> OLD.seller_id or (OLD.status = 'cancelled' and NEW.status <> 'cancelled'))
  execute function settle_private.tg_seller_transfers__check_money();

drop trigger _800_check_money on settle.transfer_reversals;
create constraint trigger _800_check_money after insert on settle.transfer_reversals
  deferrable initially deferred
  for each row execute function settle_private.tg_transfer_reversals__check_money();
create constraint trigger _801_check_money_on_update
  after update of amount, status, seller_transfer_id on settle.transfer_reversals
  deferrable initially deferred
  for each row
  when (NEW.amount <> OLD.amount or NEW.seller_transfer_id <> OLD.seller_transfer_id
        or (OLD.status = 'permanently_failed' and NEW.status <> 'permanently_failed'))
  execute function settle_private.tg_transfer_reversals__check_money();

/*
 * Refunds likewise: recording phase 2 (which holds the refund row) must not take the
 * order lock that a refund_succeeded being applied holds while it waits for the
 * refund row. The refund sums (not failed; succeeded) grow only by an insert, a
 * changed amount or order, or a refund leaving `failed`.
 */
drop trigger _800_check_money on settle.refunds;
create constraint trigger _800_check_money after insert on settle.refunds
  deferrable initially deferred
  for each row execute function settle_private.tg_refunds__check_money();
create constraint trigger _801_check_money_on_update
  after update of amount, status, order_id on settle.refunds
  deferrable initially deferred
  for each row
  when (NEW.amount <> OLD.amount or NEW.order_id <> OLD.order_id
        or (OLD.status = 'failed' and NEW.status <> 'failed'))
  execute function settle_private.tg_refunds__check_money();

/*
 * A job that used up its graphile-worker attempts (a bug, a database outage) is
 * not waiting for anything: the sweeper gives its row a new one.
 */
create or replace function settle_private.has_waiting_job(p_key text) returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select exists (
    select 1 from graphile_worker.jobs
    where key = p_key and locked_at is null and attempts < max_attempts)
$$;
