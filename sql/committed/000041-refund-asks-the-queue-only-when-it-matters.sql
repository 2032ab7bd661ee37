--! Previous: sha1:fab7c0fbca59011133ef2d068effbbe99d6278c9
--! Hash: sha1:609113d5bd8b5ba17043f3b3a45b7d5c1cd65528
--! Message: a refund reads the job queue only for transfers not made

/*
 * take_back (000039) asks, for every transfer of the seller, whether a call of it
 * may be in flight, made transfers included, where the answer changes nothing (a
 * made transfer is reversed either way). The question scans the queue's locked jobs
 * by payload, so its cost grows with the backlog, and it was paid on the common
 * path: every refund of a paid order (npm run bench, refund_to_reversed under
 * load). A made transfer has no call in flight: its job ended when it recorded the
 * transfer. The queue is now read only for a transfer that is not made.
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
        and j.locked_at is not null
        and j.payload->>'id' = p_transfer_id::text)
    else false
  end
$$;
comment on function settle_private.transfer_may_be_in_flight(uuid) is E'The transfer is not made and a job of it was taken by a worker and not finished: its Stripe call may have been sent.';
