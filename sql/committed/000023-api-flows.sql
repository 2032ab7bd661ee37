--! Previous: sha1:67bda1a5c95f6b0fdbe809787ea088da1e02a881
--! Hash: sha1:e5c13b168ad5e69c05517de9c0447801b986709d
--! Message: api flows

/*
 * The database side of the API's flows that call a PSP (SPEC §5). A GraphQL
 * mutation runs them around its HTTP call, each in its own short transaction:
 *   confirmOrder  confirm_order_begin -> POST /payments -> confirm_order_record | confirm_order_fail
 *   refundOrder   refund_order_begin (phase 1: the refunds row) -> POST /refunds
 *                 -> refund_order_sent | refund_order_fail
 * so the row exists, committed, before the call, and its id is the call's key.
 * They live in schema settle_api: callable by API roles (SECURITY DEFINER, caller
 * checked first), never exposed as GraphQL fields by themselves.
 */
create schema settle_api;
comment on schema settle_api is E'Steps of the API flows around PSP calls; SECURITY DEFINER, caller checked. Not exposed to GraphQL directly.';
grant usage on schema settle_api to settle_platform, settle_buyer, settle_admin;

/* The order's buyer, or the platform or an admin, may act on an order. */
create function settle_private.require_order_party(p_buyer_id uuid) returns void
language plpgsql stable
as $$
declare
  claimed text := settle.current_role_claim();
begin
  if claimed = 'settle_buyer' and p_buyer_id is distinct from settle.current_subject() then
    raise exception 'this order belongs to another buyer' using errcode = '42501';
  end if;
  perform settle_private.require_caller('settle_buyer', 'settle_platform', 'settle_admin');
end;
$$;

create function settle_private.order_for_update(p_order_id uuid) returns settle.orders
language plpgsql
as $$
declare
  o settle.orders;
begin
  if p_order_id is null then
    perform settle_private.invalid('orderId: required');
  end if;
  select * into o from settle.orders where id = p_order_id for no key update;
  if not found then
    perform settle_private.invalid(format('orderId: no order %s', p_order_id));
  end if;
  return o;
end;
$$;

/* confirmOrder, before the PSP call: pending -> payment_pending (or resume one). */
create function settle_api.confirm_order_begin(p_order_id uuid) returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders := settle_private.order_for_update(p_order_id);
begin
  perform settle_private.require_order_party(o.buyer_id);
  if o.status = 'pending' then
    update settle.orders set status = 'payment_pending' where id = o.id returning * into o;
  elsif o.status <> 'payment_pending' then
    -- payment_pending is a resume: the PSP call may not have happened, or its answer
    -- was lost; the same payment_id makes a second POST safe.
    raise exception 'order % is %: only a pending order can be confirmed', o.id, o.status
      using errcode = 'ILTRN';
  end if;
  return o;
end;
$$;

/* confirmOrder, after the PSP accepted the payment: remember its id and time. */
create function settle_api.confirm_order_record(p_order_id uuid, p_psp_payment_id text, p_psp_updated_at timestamptz)
returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders := settle_private.order_for_update(p_order_id);
begin
  perform settle_private.require_order_party(o.buyer_id);
  update settle.orders
  set psp_payment_id = coalesce(nullif(psp_payment_id, ''), p_psp_payment_id),
      psp_updated_at = greatest(psp_updated_at, p_psp_updated_at),
      last_error = null
  where id = o.id
  returning * into o;
  return o;
end;
$$;

/* confirmOrder, after a decline or a permanent PSP error: the order failed. */
create function settle_api.confirm_order_fail(p_order_id uuid, p_error text) returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders := settle_private.order_for_update(p_order_id);
begin
  perform settle_private.require_order_party(o.buyer_id);
  update settle.orders set status = 'failed', last_error = p_error
  where id = o.id and status = 'payment_pending'
  returning * into o;
  if not found then
    -- A webhook got there first (the payment succeeded or failed meanwhile).
    select * into o from settle.orders where id = p_order_id;
  end if;
  return o;
end;
$$;

/* confirmOrder when the PSP could not be reached: the order stays payment_pending. */
create function settle_api.confirm_order_note(p_order_id uuid, p_error text) returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders := settle_private.order_for_update(p_order_id);
begin
  perform settle_private.require_order_party(o.buyer_id);
  update settle.orders set last_error = p_error where id = o.id returning * into o;
  return o;
end;
$$;

create function settle_api.cancel_order(p_order_id uuid) returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders := settle_private.order_for_update(p_order_id);
begin
  perform settle_private.require_order_party(o.buyer_id);
  if o.status not in ('pending', 'payment_pending') then
    raise exception 'order % is %: only a pending or payment_pending order can be cancelled', o.id, o.status
      using errcode = 'ILTRN';
  end if;
  update settle.orders set status = 'cancelled' where id = o.id returning * into o;
  return o;
end;
$$;

create type settle_api.refund_line as (order_item_id uuid, amount bigint);

/*
 * refundOrder, phase 1: the refunds row (pending), behind every guard, committed
 * before POST /refunds. Full (no amount, no items), partial by amount, or by items.
 */
create function settle_api.refund_order_begin(
  p_order_id uuid, p_amount bigint, p_reason text, p_items settle_api.refund_line[]
) returns settle.refunds
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  o settle.orders;
  in_flight settle.refunds;
  refundable bigint;
  line settle_api.refund_line;
  item settle.order_items;
  item_refunded bigint;
  lines_total bigint := 0;
  idx integer := 0;
  created settle.refunds;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  o := settle_private.order_for_update(p_order_id);
  if length(p_reason) > 500 then
    perform settle_private.invalid('reason: at most 500 characters');
  end if;
  if o.status not in ('paid', 'partially_refunded') then
    raise exception 'order % is %: only a paid order can be refunded', o.id, o.status
      using errcode = 'RFEXC', hint = 'Nothing was paid, or everything was refunded already.';
  end if;
  select * into in_flight from settle.refunds
  where order_id = o.id and status in ('pending', 'processing') limit 1;
  if found then
    raise exception 'refund % of order % is still %: wait for it to settle', in_flight.id, o.id, in_flight.status
      using errcode = 'INFLT';
  end if;
  select o.total_amount - coalesce(sum(amount), 0) into refundable
  from settle.refunds where order_id = o.id and status <> 'failed';

  if p_items is not null and cardinality(p_items) > 0 then
    foreach line in array p_items loop
      select * into item from settle.order_items where id = line.order_item_id and order_id = o.id;
      if not found then
        perform settle_private.invalid(format('items[%s].orderItemId: %s is not an item of order %s', idx, coalesce(line.order_item_id::text, 'null'), o.id));
      end if;
      if line.amount is null or line.amount <= 0 then
        perform settle_private.invalid(format('items[%s].amount: must be a positive integer of minor units, got %s', idx, coalesce(line.amount::text, 'null')));
      end if;
      select coalesce(sum(ri.amount), 0) into item_refunded
      from settle.refund_items ri join settle.refunds f on f.id = ri.refund_id
      where ri.order_item_id = item.id and f.status <> 'failed';
      if line.amount > item.amount - item_refunded then
        raise exception 'items[%].amount: % exceeds what is left to refund of item % (%)', idx, line.amount, item.id, item.amount - item_refunded
          using errcode = 'RFEXC';
      end if;
      lines_total := lines_total + line.amount;
      idx := idx + 1;
    end loop;
    if p_amount is not null and p_amount <> lines_total then
      perform settle_private.invalid(format('amount: %s does not equal the sum of the items %s', p_amount, lines_total));
    end if;
    p_amount := lines_total;
  elsif p_amount is null then
    p_amount := refundable;
  end if;

  if p_amount <= 0 then
    if refundable = 0 then
      raise exception 'order % is refunded in full already', o.id using errcode = 'RFEXC';
    end if;
    perform settle_private.invalid(format('amount: must be a positive integer of minor units, got %s', p_amount));
  end if;
  if p_amount > refundable then
    raise exception 'refund of % exceeds what is left to refund of order %: %', p_amount, o.id, refundable
      using errcode = 'RFEXC';
  end if;

  insert into settle.refunds (order_id, amount, reason) values (o.id, p_amount, nullif(btrim(p_reason), ''))
  returning * into created;
  if p_items is not null and cardinality(p_items) > 0 then
    insert into settle.refund_items (refund_id, order_item_id, amount)
    select created.id, l.order_item_id, l.amount from unnest(p_items) as l;
  end if;
  return created;
end;
$$;

/* refundOrder, phase 2 done: the PSP has the refund (processing), or said it failed. */
create function settle_api.refund_order_sent(
  p_refund_id uuid, p_hyperswitch_refund_id text, p_psp_status text, p_psp_updated_at timestamptz
) returns settle.refunds
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  f settle.refunds;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  select * into f from settle.refunds where id = p_refund_id for no key update;
  if not found then
    perform settle_private.invalid(format('refundId: no refund %s', p_refund_id));
  end if;
  update settle.refunds
  set hyperswitch_refund_id = coalesce(nullif(hyperswitch_refund_id, ''), p_hyperswitch_refund_id),
      psp_updated_at = greatest(psp_updated_at, p_psp_updated_at),
      last_error = null
  where id = f.id
  returning * into f;
  if f.status = 'pending' then
    update settle.refunds
    set status = case when p_psp_status = 'failed' then 'failed' else 'processing' end
    where id = f.id
    returning * into f;
  end if;
  return f;
end;
$$;

create function settle_api.refund_order_fail(p_refund_id uuid, p_error text) returns settle.refunds
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  f settle.refunds;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  update settle.refunds set status = 'failed', last_error = p_error
  where id = p_refund_id and status = 'pending'
  returning * into f;
  if not found then
    select * into f from settle.refunds where id = p_refund_id;
  end if;
  return f;
end;
$$;

/* Admin retry: a transfer that gave up goes back to pending, same key, new job. */
create function settle_api.retry_transfer(p_transfer_id uuid, p_reason text) returns settle.seller_transfers
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  t settle.seller_transfers;
begin
  perform settle_private.require_caller('settle_admin');
  if p_reason is null or btrim(p_reason) = '' then
    perform settle_private.invalid('reason: say why the transfer is retried (it is kept in the audit trail)');
  end if;
  select * into t from settle.seller_transfers where id = p_transfer_id for no key update;
  if not found then
    perform settle_private.invalid(format('transferId: no transfer %s', p_transfer_id));
  end if;
  if t.status <> 'permanently_failed' then
    raise exception 'transfer % is %: only a permanently_failed transfer can be retried', t.id, t.status
      using errcode = 'ILTRN';
  end if;
  perform set_config('settle.reason', btrim(p_reason), true);
  update settle.seller_transfers
  set status = 'pending', retry_count = 0, next_retry_at = null, last_error = null
  where id = t.id
  returning * into t;
  return t;
end;
$$;

create function settle_api.retry_reversal(p_reversal_id uuid, p_reason text) returns settle.transfer_reversals
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  r settle.transfer_reversals;
begin
  perform settle_private.require_caller('settle_admin');
  if p_reason is null or btrim(p_reason) = '' then
    perform settle_private.invalid('reason: say why the reversal is retried (it is kept in the audit trail)');
  end if;
  select * into r from settle.transfer_reversals where id = p_reversal_id for no key update;
  if not found then
    perform settle_private.invalid(format('reversalId: no reversal %s', p_reversal_id));
  end if;
  if r.status <> 'permanently_failed' then
    raise exception 'reversal % is %: only a permanently_failed reversal can be retried', r.id, r.status
      using errcode = 'ILTRN';
  end if;
  perform set_config('settle.reason', btrim(p_reason), true);
  update settle.transfer_reversals
  set status = 'pending', retry_count = 0, next_retry_at = null, last_error = null
  where id = r.id
  returning * into r;
  return r;
end;
$$;

grant execute on function settle_api.confirm_order_begin(uuid), settle_api.confirm_order_record(uuid, text, timestamptz),
  settle_api.confirm_order_fail(uuid, text), settle_api.confirm_order_note(uuid, text), settle_api.cancel_order(uuid)
  to settle_buyer, settle_platform, settle_admin;
grant execute on function settle_api.refund_order_begin(uuid, bigint, text, settle_api.refund_line[]),
  settle_api.refund_order_sent(uuid, text, text, timestamptz), settle_api.refund_order_fail(uuid, text)
  to settle_platform, settle_admin;
grant execute on function settle_api.retry_transfer(uuid, text), settle_api.retry_reversal(uuid, text) to settle_admin;
grant usage on type settle_api.refund_line to settle_platform, settle_admin;
