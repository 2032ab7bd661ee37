--! Previous: sha1:d978d54b5ceeac5a3e8babe4754aca09be4666d0
--! Hash: sha1:9d2bbc7b41da90df32e58afdd60feaa8d35ecd66
--! Message: money invariants

/*
 * Money is conserved (SPEC §1.7), and the database checks it at commit:
 *   TOTAL  an order's total_amount equals the sum of its items' amounts
 *   RFEXC  the non-failed refunds of an order add up to at most its total
 *   TREXC  for each (order, seller), the transfers not cancelled add up to at most
 *          the seller's share: sum(item amount - platform fee) of its items; and a
 *          transfer is in the order's currency
 *   RVEXC  the reversals of a transfer not permanently_failed add up to at most it
 *   RVREF  the reversals of an order (not permanently_failed) add up to at most its
 *          succeeded refunds
 * The checks are deferred constraint triggers: a transaction may pass through an
 * intermediate state (an order inserted before its items) as long as it commits a
 * consistent one. Each check first locks the row it sums under (order or transfer),
 * so two transactions cannot both pass against each other's stale totals.
 * The trigger functions are SECURITY DEFINER: before PostgreSQL 18 a deferred
 * trigger runs at COMMIT as whatever role is current then, e.g. an API role that
 * wrote through a SECURITY DEFINER function and may read none of these tables.
 */

create function settle_private.assert_order_total(p_order_id uuid) returns void
language plpgsql
as $$
declare
  total bigint;
  items bigint;
begin
  select total_amount into total from settle.orders where id = p_order_id;
  if not found then
    return;
  end if;
  select coalesce(sum(amount), 0) into items from settle.order_items where order_id = p_order_id;
  if items <> total then
    raise exception 'order % has total_amount % but its items add up to %', p_order_id, total, items
      using errcode = 'TOTAL', hint = 'Insert the order and its items in one transaction, with total_amount = sum(items.amount).';
  end if;
end;
$$;

create function settle_private.assert_refunds_within_total(p_order_id uuid) returns void
language plpgsql
as $$
declare
  total bigint;
  refunded bigint;
begin
  select total_amount into total from settle.orders where id = p_order_id for no key update;
  if not found then
    return;
  end if;
  select coalesce(sum(amount), 0) into refunded
  from settle.refunds where order_id = p_order_id and status <> 'failed';
  if refunded > total then
    raise exception 'refunds of order % would add up to %, above the order total %', p_order_id, refunded, total
      using errcode = 'RFEXC', hint = 'Refunds that did not fail may add up to at most what the order was for.';
  end if;
end;
$$;

create function settle_private.assert_transfers_within_share(p_order_id uuid, p_seller_id uuid) returns void
language plpgsql
as $$
declare
  order_currency text;
  share bigint;
  transferred bigint;
  odd_currency text;
begin
  select currency into order_currency from settle.orders where id = p_order_id for no key update;
  if not found then
    return;
  end if;
  select currency into odd_currency from settle.seller_transfers
  where order_id = p_order_id and seller_id = p_seller_id and currency <> order_currency
  limit 1;
  if found then
    raise exception 'a transfer of order % to seller % is in %, but the order is in %',
        p_order_id, p_seller_id, odd_currency, order_currency
      using errcode = 'TREXC';
  end if;
  select coalesce(sum(amount - platform_fee), 0) into share
  from settle.order_items where order_id = p_order_id and seller_id = p_seller_id;
  select coalesce(sum(amount), 0) into transferred
  from settle.seller_transfers
  where order_id = p_order_id and seller_id = p_seller_id and status <> 'cancelled';
  if transferred > share then
    raise exception 'transfers of order % to seller % would add up to %, above the seller''s share %',
        p_order_id, p_seller_id, transferred, share
      using errcode = 'TREXC', hint = 'A seller''s share is the sum of (amount - platform_fee) of its items in the order.';
  end if;
end;
$$;

create function settle_private.assert_reversals_within_transfer(p_transfer_id uuid) returns void
language plpgsql
as $$
declare
  transfer_amount bigint;
  reversing bigint;
begin
  select amount into transfer_amount from settle.seller_transfers where id = p_transfer_id for no key update;
  if not found then
    return;
  end if;
  select coalesce(sum(amount), 0) into reversing
  from settle.transfer_reversals
  where seller_transfer_id = p_transfer_id and status <> 'permanently_failed';
  if reversing > transfer_amount then
    raise exception 'reversals of transfer % would add up to %, above its amount %', p_transfer_id, reversing, transfer_amount
      using errcode = 'RVEXC';
  end if;
end;
$$;

create function settle_private.assert_reversals_within_refunds(p_order_id uuid) returns void
language plpgsql
as $$
declare
  refunded bigint;
  reversing bigint;
begin
  perform 1 from settle.orders where id = p_order_id for no key update;
  if not found then
    return;
  end if;
  select coalesce(sum(r.amount), 0) into reversing
  from settle.transfer_reversals r
  join settle.seller_transfers t on t.id = r.seller_transfer_id
  where t.order_id = p_order_id and r.status <> 'permanently_failed';
  if reversing = 0 then
    return;
  end if;
  select coalesce(sum(amount), 0) into refunded
  from settle.refunds where order_id = p_order_id and status = 'succeeded';
  if reversing > refunded then
    raise exception 'reversals of order % would add up to %, above its succeeded refunds %', p_order_id, reversing, refunded
      using errcode = 'RVREF', hint = 'Sellers give back at most what the buyer got back.';
  end if;
end;
$$;

/* Trigger glue: which rows' sums a changed row can affect. */

create function settle_private.tg_orders__check_money() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_order_total(NEW.id);
  perform settle_private.assert_refunds_within_total(NEW.id);
  return null;
end;
$$;
create constraint trigger _800_check_money after insert or update of total_amount on settle.orders
  deferrable initially deferred
  for each row execute function settle_private.tg_orders__check_money();

create function settle_private.tg_order_items__check_money() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  r record;
begin
  for r in
    select distinct order_id, seller_id from (
      select NEW.order_id, NEW.seller_id where tg_op <> 'DELETE'
      union all
      select OLD.order_id, OLD.seller_id where tg_op <> 'INSERT'
    ) as affected (order_id, seller_id)
  loop
    perform settle_private.assert_order_total(r.order_id);
    perform settle_private.assert_transfers_within_share(r.order_id, r.seller_id);
  end loop;
  return null;
end;
$$;
create constraint trigger _800_check_money after insert or update or delete on settle.order_items
  deferrable initially deferred
  for each row execute function settle_private.tg_order_items__check_money();

create function settle_private.tg_refunds__check_money() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_refunds_within_total(NEW.order_id);
  perform settle_private.assert_reversals_within_refunds(NEW.order_id);
  return null;
end;
$$;
create constraint trigger _800_check_money after insert or update of amount, status, order_id on settle.refunds
  deferrable initially deferred
  for each row execute function settle_private.tg_refunds__check_money();

create function settle_private.tg_seller_transfers__check_money() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_transfers_within_share(NEW.order_id, NEW.seller_id);
  perform settle_private.assert_reversals_within_transfer(NEW.id);
  return null;
end;
$$;
create constraint trigger _800_check_money
  after insert or update of amount, status, currency, order_id, seller_id on settle.seller_transfers
  deferrable initially deferred
  for each row execute function settle_private.tg_seller_transfers__check_money();

create function settle_private.tg_transfer_reversals__check_money() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_reversals_within_transfer(NEW.seller_transfer_id);
  perform settle_private.assert_reversals_within_refunds(
    (select order_id from settle.seller_transfers where id = NEW.seller_transfer_id));
  return null;
end;
$$;
create constraint trigger _800_check_money
  after insert or update of amount, status, seller_transfer_id on settle.transfer_reversals
  deferrable initially deferred
  for each row execute function settle_private.tg_transfer_reversals__check_money();
