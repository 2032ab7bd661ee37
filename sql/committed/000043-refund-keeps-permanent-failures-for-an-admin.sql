--! Previous: sha1:a97cae4789c6a0987d7c8c3e580623c9ae72a3df
--! Hash: sha1:b3f446a84bd2d185b4debb1bac05ec14394cf04a
--! Message: a refund keeps a permanently failed transfer's rest for an admin

/*
 * A refund takes a seller's share back from a transfer not made yet by shrinking
 * or cancelling it (take_back, 000039). A failed or permanently failed transfer's
 * amount is frozen, so it is cancelled and the rest made anew as a new row. For a
 * permanently failed transfer that new row was `pending`, and its job sent it: the
 * refund quietly did what only an admin retry may do (SPEC §4, `permanently_failed
 * → pending` is an admin retry), against a destination Stripe had refused.
 *
 * The rest of a permanently failed transfer is now recorded as permanently failed
 * too (inserted pending, the only initial status, then moved on in the same
 * transaction), with the reason it inherits: the seller is still owed that amount,
 * nothing is sent, and retryTransfer sends it when an admin decides. Its job, given
 * by the insert, finds it permanently failed and does nothing.
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
  rest_id uuid;
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
        values (t.order_id, t.seller_id, t.amount - part, t.currency)
        returning id into rest_id;
        if t.status = 'permanently_failed' then
          update settle.seller_transfers
          set status = 'permanently_failed',
              last_error = format('the rest of transfer %s after refund %s; that transfer had permanently failed (%s): an admin may retry',
                                  t.id, p_refund_id, coalesce(t.last_error, 'no reason recorded'))
          where id = rest_id;
        end if;
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
