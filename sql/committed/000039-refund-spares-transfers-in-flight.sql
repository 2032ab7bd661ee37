--! Previous: sha1:d92be4cbf0ce2231d4f6ed263a57a37e082472cf
--! Hash: sha1:58fec23e0728c8dcb90cebd033797947b9a878ca
--! Message: a refund does not cancel a transfer whose call may be in flight

/*
 * A refund takes a seller's share back from a transfer not made yet by shrinking
 * or cancelling it (000024, settle_private.take_back), trusting that a pending
 * transfer without an unknown outcome was never sent. A transfer job holds its row
 * through the Stripe call, so a refund waits for a live call. But a worker killed
 * inside the call releases the row with nothing recorded: the row is pending, and
 * Stripe may have made the transfer. Found by `npm run chaos`: the refund then
 * cancelled a transfer that Stripe had made, and the money stayed at the seller.
 *
 * What remains of such a call is its graphile-worker job, locked by the dead
 * worker (for 4 hours). A transfer with a locked job may have been sent: the refund
 * takes it back by a reversal instead, which waits until the transfer is made
 * (the reversal job) or adopted (the transfer job looks it up or replays its key).
 * A locked job of a live worker is mid-run and holds the row, so the refund
 * reaches this test only after that run committed; at worst a transfer whose run
 * just ended is reversed after it is made rather than cancelled before.
 */
create function settle_private.transfer_may_be_in_flight(p_transfer_id uuid) returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select exists (
    select 1 from graphile_worker._private_jobs j
    join graphile_worker._private_tasks k on k.id = j.task_id
    where k.identifier = 'seller_transfers__create'
      and j.locked_at is not null
      and j.payload->>'id' = p_transfer_id::text)
$$;
comment on function settle_private.transfer_may_be_in_flight(uuid) is E'A job of the transfer was taken by a worker and not finished: its Stripe call may have been sent.';

create or replace function settle_private.take_back(p_order_id uuid, p_seller_id uuid, p_amount bigint, p_refund_id uuid)
returns void
language plpgsql
as $$
declare
  t settle.seller_transfers;
  left_to_take bigint := p_amount;
  reversible bigint;
  part bigint;
  unsent boolean;
begin
  for t in
    select * from settle.seller_transfers
    where order_id = p_order_id and seller_id = p_seller_id and status <> 'cancelled'
    order by (status in ('pending', 'failed', 'permanently_failed')) desc, created_at
    for no key update
  loop
    exit when left_to_take <= 0;
    -- Known not to be at Stripe: no unknown outcome, and no call that may be in flight.
    unsent := not t.outcome_unknown and not settle_private.transfer_may_be_in_flight(t.id);
    if t.status = 'pending' and unsent then
      if left_to_take >= t.amount then
        update settle.seller_transfers set status = 'cancelled', last_error = 'cancelled: refunded before it was made'
        where id = t.id;
        left_to_take := left_to_take - t.amount;
      else
        update settle.seller_transfers set amount = amount - left_to_take where id = t.id;
        left_to_take := 0;
      end if;
    elsif t.status in ('failed', 'permanently_failed') and unsent then
      -- Its amount is frozen past pending: cancel it and make the rest anew.
      part := least(left_to_take, t.amount);
      update settle.seller_transfers set status = 'cancelled', last_error = 'cancelled: refunded before it was made'
      where id = t.id;
      if t.amount - part > 0 then
        insert into settle.seller_transfers (order_id, seller_id, amount, currency)
        values (t.order_id, t.seller_id, t.amount - part, t.currency);
      end if;
      left_to_take := left_to_take - part;
    else
      -- Made (or maybe made: an unknown outcome, or a call that may be in flight): reverse it.
      select t.amount - coalesce(sum(amount), 0) into reversible
      from settle.transfer_reversals
      where seller_transfer_id = t.id and status <> 'permanently_failed';
      part := least(left_to_take, reversible);
      if part > 0 then
        insert into settle.transfer_reversals (seller_transfer_id, refund_id, amount)
        values (t.id, p_refund_id, part);
        left_to_take := left_to_take - part;
      end if;
    end if;
  end loop;
end;
$$;
