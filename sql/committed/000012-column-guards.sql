--! Previous: sha1:f982e7f0d8fe24f998fff3788ef79316beb6be5b
--! Hash: sha1:d978d54b5ceeac5a3e8babe4754aca09be4666d0
--! Message: column guards

/*
 * What may change in place besides status (SPEC §4):
 *   - a row's id and created_at never change;
 *   - amounts, currencies and foreign keys are frozen once the row has left its
 *     initial status (they may be corrected while it still sits there);
 *   - a PSP id may be filled once (empty -> value) and never changed or cleared;
 *   - a pending transfer's amount may only go down (refund before transfer);
 *   - legacy_import never changes after insert;
 *   - a row that has left its initial status is history: it cannot be deleted;
 *   - an order's items are frozen, like its total, once the order left `pending`.
 * retry_count, next_retry_at, last_error and the like are free to move.
 */
create function settle_private.tg__guard_columns() returns trigger
language plpgsql
as $$
declare
  -- tg_argv: [0] initial status, [1] columns frozen after it, [2] fill-once PSP id columns
  initial text := tg_argv[0];
  frozen text[] := string_to_array(tg_argv[1], ',');
  fill_once text[] := string_to_array(tg_argv[2], ',');
  o jsonb := to_jsonb(OLD);
  n jsonb;
  col text;
begin
  if tg_op = 'DELETE' then
    if OLD.status <> initial then
      raise exception '% % is % and cannot be deleted: rows past % are history',
          tg_table_name, OLD.id, OLD.status, initial
        using errcode = 'IMMUT', hint = 'Move it to a final status through the state machine instead.';
    end if;
    return OLD;
  end if;

  n := to_jsonb(NEW);
  foreach col in array array['id', 'created_at'] loop
    if n -> col is distinct from o -> col then
      raise exception '%.% of % never changes', tg_table_name, col, OLD.id using errcode = 'IMMUT';
    end if;
  end loop;

  if not (OLD.status = initial and NEW.status = initial) then
    foreach col in array frozen loop
      if n -> col is distinct from o -> col then
        raise exception '%.% of % cannot change once it left % (it is %)',
            tg_table_name, col, OLD.id, initial, OLD.status
          using errcode = 'IMMUT';
      end if;
    end loop;
  end if;

  foreach col in array fill_once loop
    if coalesce(o ->> col, '') <> '' and n -> col is distinct from o -> col then
      raise exception '%.% of % is % and cannot change to %',
          tg_table_name, col, OLD.id, o ->> col, coalesce(n ->> col, 'null')
        using errcode = 'IMMUT', hint = 'A PSP id is filled once and never changed.';
    end if;
  end loop;
  return NEW;
end;
$$;

create trigger _200_guard_columns before update or delete on settle.orders
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'buyer_id,currency,total_amount', 'psp_payment_id');
create trigger _200_guard_columns before update or delete on settle.refunds
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'order_id,amount', 'hyperswitch_refund_id');
create trigger _200_guard_columns before update or delete on settle.seller_transfers
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'order_id,seller_id,amount,currency', 'stripe_transfer_id');
create trigger _200_guard_columns before update or delete on settle.transfer_reversals
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'seller_transfer_id,refund_id,amount', 'stripe_reversal_id');
create trigger _200_guard_columns before update or delete on settle.seller_payouts
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'seller_id,amount,currency', 'external_payout_id');
create trigger _200_guard_columns before update or delete on settle.subscriptions
  for each row execute function settle_private.tg__guard_columns(
    'incomplete', 'buyer_id,plan_id', '');
create trigger _200_guard_columns before update or delete on settle.subscription_invoices
  for each row execute function settle_private.tg__guard_columns(
    'pending', 'subscription_id,amount,currency,period_start,period_end', 'psp_payment_id');

/* Transfers: legacy_import is fixed at insert; a pending amount only goes down. */
create function settle_private.tg_seller_transfers__guard_amount_and_origin() returns trigger
language plpgsql
as $$
begin
  if NEW.legacy_import is distinct from OLD.legacy_import then
    raise exception 'seller_transfers.legacy_import of % never changes after insert', OLD.id
      using errcode = 'IMMUT';
  end if;
  if NEW.amount > OLD.amount then
    raise exception 'seller_transfers.amount of % can only be reduced (% -> %)', OLD.id, OLD.amount, NEW.amount
      using errcode = 'IMMUT', hint = 'A transfer not yet made shrinks when its order is refunded; it never grows.';
  end if;
  return NEW;
end;
$$;
create trigger _210_guard_amount_and_origin before update on settle.seller_transfers
  for each row execute function settle_private.tg_seller_transfers__guard_amount_and_origin();

/* An order's items are part of what was paid: frozen with the order's total. */
create function settle_private.tg_order_items__frozen_with_order() returns trigger
language plpgsql
as $$
declare
  order_status text;
  target uuid;
begin
  if tg_op = 'UPDATE' and (NEW.id <> OLD.id or NEW.created_at <> OLD.created_at) then
    raise exception 'order_items.id and created_at of % never change', OLD.id using errcode = 'IMMUT';
  end if;
  foreach target in array case tg_op
      when 'INSERT' then array[NEW.order_id]
      when 'DELETE' then array[OLD.order_id]
      else array[OLD.order_id, NEW.order_id] end loop
    select status into order_status from settle.orders where id = target;
    if order_status is not null and order_status <> 'pending' then
      raise exception 'items of order % cannot change: the order is %', target, order_status
        using errcode = 'IMMUT', hint = 'Items are frozen once the order is confirmed.';
    end if;
  end loop;
  return case tg_op when 'DELETE' then OLD else NEW end;
end;
$$;
create trigger _200_frozen_with_order before insert or update or delete on settle.order_items
  for each row execute function settle_private.tg_order_items__frozen_with_order();
