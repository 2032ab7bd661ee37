--! Previous: sha1:43d715afe6a9924e7cf67370fc82a797e0b96a4e
--! Hash: sha1:faff366217f3f444a6af3542bf1a1498319595e2
--! Message: a transfer whose job failed after running may have been sent

/*
 * A refund shrinks or cancels a transfer not made yet instead of reversing it,
 * unless its call may be in flight (000039, 000041): the test was a job of the
 * transfer locked by a worker that never finished it. Found by `npm run chaos`
 * (seed 31337): a run whose Stripe call succeeded and whose transaction was then
 * lost with the database (a restart) leaves the row pending with nothing recorded,
 * and its job, failed rather than locked, waits for its retry. The refund shrank
 * the transfer; the retry sent the same key with a smaller amount; Stripe refused
 * it (idempotency_error, permanent) and the transfer gave up while Stripe held the
 * whole amount at the seller.
 *
 * A job that has been attempted and not completed may have sent its call, as much
 * as one that is locked: both now count. A run that failed before its call (a row
 * held by another transaction) is counted too, which only sends the refund down
 * the reversal path, made once the transfer is.
 */
create or replace function settle_private.transfer_may_be_in_flight(p_transfer_id uuid) returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select case
    when exists (
      select 1 from settle.seller_transfers
      where id = p_transfer_id and status in ('pending', 'failed', 'permanently_failed'))
    then exists (
      select 1 from graphile_worker._private_jobs j
      join graphile_worker._private_tasks k on k.id = j.task_id
      where k.identifier = 'seller_transfers__create'
        and (j.locked_at is not null or j.attempts > 0)
        and j.payload->>'id' = p_transfer_id::text)
    else false
  end
$$;
comment on function settle_private.transfer_may_be_in_flight(uuid) is E'A job of the transfer was taken by a worker and not finished, or failed after it ran: its Stripe call may have been sent.';
