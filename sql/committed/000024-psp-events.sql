--! Previous: sha1:e5c13b168ad5e69c05517de9c0447801b986709d
--! Hash: sha1:1a6bdebc4383401a389ab4e60fba9fbaf0c288bf
--! Message: psp events

/*
 * What a PSP event does to our rows (SPEC §5), one function per event, called by
 * the webhook task in one transaction with the event's bookkeeping. Each returns
 * what it did: 'applied', 'duplicate' (already in that state), 'stale' (an older
 * event than the one applied last), or 'conflict' (the event contradicts a final
 * state: kept on the webhook row for a human). An event for a state not reached
 * yet (a payment_succeeded before confirmOrder committed payment_pending) raises
 * NOTYT, and the job is retried.
 */

/* payment_succeeded: the order is paid, and each seller gets a transfer row (and job). */
create function settle_private.apply_payment_succeeded(
  p_order_id uuid, p_psp_payment_id text, p_psp_updated_at timestamptz
) returns text
language plpgsql
as $$
declare
  o settle.orders;
begin
  select * into o from settle.orders where id = p_order_id for no key update;
  if not found then
    return 'unknown';
  end if;
  if o.psp_updated_at is not null and p_psp_updated_at < o.psp_updated_at then
    return 'stale';
  end if;
  case o.status
    when 'pending' then
      raise exception 'order % is still pending: the payment event arrived before the confirmation', o.id
        using errcode = 'NOTYT';
    when 'payment_pending' then
      null;
    when 'paid', 'partially_refunded', 'refunded' then
      return 'duplicate';
    else
      -- failed or cancelled here, paid at the PSP: money came in for an order we
      -- closed. Kept for a human (ops), never silently absorbed.
      return 'conflict';
  end case;
  update settle.orders
  set status = 'paid',
      psp_payment_id = coalesce(nullif(psp_payment_id, ''), p_psp_payment_id),
      psp_updated_at = p_psp_updated_at,
      last_error = null
  where id = o.id;
  insert into settle.seller_transfers (order_id, seller_id, amount, currency)
  select o.id, i.seller_id, sum(i.amount - i.platform_fee), o.currency
  from settle.order_items i
  where i.order_id = o.id
  group by i.seller_id
  having sum(i.amount - i.platform_fee) > 0
  order by i.seller_id;
  return 'applied';
end;
$$;

/* payment_failed: the order failed (unless a later event already settled it). */
create function settle_private.apply_payment_failed(
  p_order_id uuid, p_psp_updated_at timestamptz, p_error text
) returns text
language plpgsql
as $$
declare
  o settle.orders;
begin
  select * into o from settle.orders where id = p_order_id for no key update;
  if not found then
    return 'unknown';
  end if;
  if o.psp_updated_at is not null and p_psp_updated_at < o.psp_updated_at then
    return 'stale';
  end if;
  case o.status
    when 'pending' then
      raise exception 'order % is still pending: the payment event arrived before the confirmation', o.id
        using errcode = 'NOTYT';
    when 'payment_pending' then
      update settle.orders set status = 'failed', psp_updated_at = p_psp_updated_at, last_error = p_error
      where id = o.id;
      return 'applied';
    when 'failed' then
      return 'duplicate';
    when 'cancelled' then
      return 'duplicate';
    else
      return 'stale';
  end case;
end;
$$;

/*
 * How much each seller of an order gives back after its succeeded refunds,
 * cumulatively: a refund with item lines takes back, per refunded item, the
 * seller's part of it (amount - fee, in proportion); a refund without lines is
 * shared pro rata to the sellers' shares of the order. The total is rounded down
 * to minor units (sellers never give back more than the buyer got back) and split
 * by largest remainder, so the parts add up exactly; a full refund takes back
 * every share exactly.
 */
create function settle_private.refund_targets(p_order_id uuid)
returns table (seller_id uuid, target bigint)
language sql stable
as $$
  with shares as (
    select i.seller_id, sum(i.amount - i.platform_fee)::numeric as share
    from settle.order_items i where i.order_id = p_order_id group by i.seller_id
  ),
  order_total as (
    select total_amount::numeric as total from settle.orders where id = p_order_id
  ),
  succeeded as (
    select f.id, f.amount from settle.refunds f where f.order_id = p_order_id and f.status = 'succeeded'
  ),
  by_items as (
    select i.seller_id, sum(ri.amount::numeric * (i.amount - i.platform_fee) / i.amount) as exact
    from succeeded f
    join settle.refund_items ri on ri.refund_id = f.id
    join settle.order_items i on i.id = ri.order_item_id
    group by i.seller_id
  ),
  pro_rata as (
    select s.seller_id, sum(f.amount::numeric * s.share / t.total) as exact
    from succeeded f
    cross join shares s
    cross join order_total t
    where not exists (select 1 from settle.refund_items ri where ri.refund_id = f.id)
    group by s.seller_id
  ),
  exact as (
    select s.seller_id,
           coalesce(b.exact, 0) + coalesce(p.exact, 0) as exact
    from shares s
    left join by_items b on b.seller_id = s.seller_id
    left join pro_rata p on p.seller_id = s.seller_id
  ),
  floored as (
    select seller_id, exact, floor(exact) as base, exact - floor(exact) as remainder,
           floor(sum(exact) over ()) - sum(floor(exact)) over () as leftover
    from exact
  )
  select seller_id,
         (base + case when row_number() over (order by remainder desc, seller_id) <= leftover then 1 else 0 end)::bigint
  from floored
$$;

/*
 * What a seller has given back of an order already: the part of its share no
 * longer going out (transfers reduced or cancelled before they were made) plus
 * its reversals, whatever their status (a reversal that gave up is owed, not
 * forgotten).
 */
create function settle_private.refund_allocated(p_order_id uuid, p_seller_id uuid) returns bigint
language sql stable
as $$
  select (select coalesce(sum(amount - platform_fee), 0) from settle.order_items
          where order_id = p_order_id and seller_id = p_seller_id)
       - (select coalesce(sum(amount), 0) from settle.seller_transfers
          where order_id = p_order_id and seller_id = p_seller_id and status <> 'cancelled')
       + (select coalesce(sum(r.amount), 0) from settle.transfer_reversals r
          join settle.seller_transfers t on t.id = r.seller_transfer_id
          where t.order_id = p_order_id and t.seller_id = p_seller_id)
$$;

/*
 * Takes `amount` back from a seller's transfers of an order: transfers not made
 * yet shrink or are cancelled (no Stripe call needed); made ones get a reversal
 * row (and job). Transfers are locked first: a transfer job holds its row while it
 * calls Stripe, so we never shrink a transfer that is being made.
 */
create function settle_private.take_back(p_order_id uuid, p_seller_id uuid, p_amount bigint, p_refund_id uuid)
returns void
language plpgsql
as $$
declare
  t settle.seller_transfers;
  left_to_take bigint := p_amount;
  reversible bigint;
  part bigint;
begin
  for t in
    select * from settle.seller_transfers
    where order_id = p_order_id and seller_id = p_seller_id and status <> 'cancelled'
    order by (status in ('pending', 'failed', 'permanently_failed')) desc, created_at
    for no key update
  loop
    exit when left_to_take <= 0;
    if t.status = 'pending' and not t.outcome_unknown then
      if left_to_take >= t.amount then
        update settle.seller_transfers set status = 'cancelled', last_error = 'cancelled: refunded before it was made'
        where id = t.id;
        left_to_take := left_to_take - t.amount;
      else
        update settle.seller_transfers set amount = amount - left_to_take where id = t.id;
        left_to_take := 0;
      end if;
    elsif t.status in ('failed', 'permanently_failed') and not t.outcome_unknown then
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
      -- Made (or maybe made: an unknown outcome not resolved yet): reverse it.
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

/* refund_succeeded: the refund, the order's status, and what each seller gives back. */
create function settle_private.apply_refund_succeeded(
  p_refund_id uuid, p_hyperswitch_refund_id text, p_psp_updated_at timestamptz
) returns text
language plpgsql
as $$
declare
  f settle.refunds;
  o settle.orders;
  refunded bigint;
  s record;
  delta bigint;
begin
  select * into f from settle.refunds where id = p_refund_id;
  if not found then
    return 'unknown';
  end if;
  -- Lock order then refund, the order every writer of both takes.
  select * into o from settle.orders where id = f.order_id for no key update;
  select * into f from settle.refunds where id = p_refund_id for no key update;
  if f.status = 'succeeded' then
    return 'duplicate';
  elsif f.status = 'failed' then
    return 'conflict';
  end if;
  update settle.refunds
  set status = 'succeeded',
      hyperswitch_refund_id = coalesce(nullif(hyperswitch_refund_id, ''), p_hyperswitch_refund_id),
      psp_updated_at = p_psp_updated_at,
      last_error = null
  where id = f.id;

  select coalesce(sum(amount), 0) into refunded from settle.refunds where order_id = o.id and status = 'succeeded';
  update settle.orders
  set status = case when refunded >= o.total_amount then 'refunded' else 'partially_refunded' end
  where id = o.id;

  for s in select * from settle_private.refund_targets(o.id) order by seller_id loop
    delta := s.target - settle_private.refund_allocated(o.id, s.seller_id);
    if delta > 0 then
      perform settle_private.take_back(o.id, s.seller_id, delta, f.id);
    end if;
  end loop;
  return 'applied';
end;
$$;

/* refund_failed: the refund failed; nothing was taken back from sellers. */
create function settle_private.apply_refund_failed(
  p_refund_id uuid, p_hyperswitch_refund_id text, p_psp_updated_at timestamptz, p_error text
) returns text
language plpgsql
as $$
declare
  f settle.refunds;
begin
  select * into f from settle.refunds where id = p_refund_id for no key update;
  if not found then
    return 'unknown';
  end if;
  if f.status = 'failed' then
    return 'duplicate';
  elsif f.status = 'succeeded' then
    return 'conflict';
  end if;
  update settle.refunds
  set status = 'failed',
      hyperswitch_refund_id = coalesce(nullif(hyperswitch_refund_id, ''), p_hyperswitch_refund_id),
      psp_updated_at = p_psp_updated_at,
      last_error = p_error
  where id = f.id;
  return 'applied';
end;
$$;
