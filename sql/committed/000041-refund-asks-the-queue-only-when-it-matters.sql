--! Previous: sha1:fab7c0fbca59011133ef2d068effbbe99d6278c9
--! Hash: sha1:069bfbe7abe4b388a024449ab726b99ec20d50d7
--! Message: a refund reads the job queue only for transfers not made

/*
 * take_back (000039) asked the job queue whether a transfer's call may be in flight
 * for every transfer of the seller, made ones included, where the answer changes
 * nothing (a made transfer is reversed either way). The question scans the queue's
 * locked jobs by payload, so its cost grows with the backlog, and it was paid on
 * the common path: a refund of a paid order (npm run bench, refund_to_reversed
 * under load). It is now asked only of a transfer that is not made.
 */
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
    -- Known not to be at Stripe: not made, no unknown outcome, and no call that may
    -- be in flight. The last test reads the job queue: only for a transfer not made.
    unsent := t.status in ('pending', 'failed', 'permanently_failed')
      and not t.outcome_unknown;
    if unsent then
      unsent := not settle_private.transfer_may_be_in_flight(t.id);
    end if;
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
