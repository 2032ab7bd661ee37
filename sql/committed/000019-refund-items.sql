--! Previous: sha1:b39de3ea179e6903fc19dcb92c1f5ad4f62fea32
--! Hash: sha1:d37b8eda8166bad0e51d38e5b6b0ff1dac123b38
--! Message: refund items

/*
 * A refund "by items" names which order items it gives money back for, and how
 * much of each. Those lines decide which sellers give money back (reversals by
 * refunded items); a refund without lines is shared pro rata.
 *   - the lines of a refund add up to the refund's amount;
 *   - a line refunds an item of the refund's own order;
 *   - the lines of an item across refunds that did not fail add up to at most the
 *     item's amount.
 * Checked at commit, like the other money rules.
 */
create table settle.refund_items (
  id uuid primary key default gen_random_uuid(),
  refund_id uuid not null references settle.refunds (id) on delete cascade,
  order_item_id uuid not null references settle.order_items (id) on delete restrict,
  amount bigint not null constraint refund_items_amount_positive check (amount > 0),
  created_at timestamptz not null default now(),
  constraint refund_items_one_line_per_item unique (refund_id, order_item_id)
);
comment on table settle.refund_items is E'The order items a refund gives money back for, and how much of each (minor units).';
create index refund_items_order_item_id_idx on settle.refund_items (order_item_id);

create function settle_private.assert_refund_items(p_refund_id uuid) returns void
language plpgsql
as $$
declare
  r record;
  lines bigint;
  stray uuid;
  over record;
begin
  select id, order_id, amount, status into r from settle.refunds where id = p_refund_id;
  if not found then
    return;
  end if;
  select coalesce(sum(amount), 0) into lines from settle.refund_items where refund_id = r.id;
  if lines > 0 and lines <> r.amount then
    raise exception 'refund % is for % but its item lines add up to %', r.id, r.amount, lines
      using errcode = 'RFEXC';
  end if;
  select ri.order_item_id into stray
  from settle.refund_items ri join settle.order_items oi on oi.id = ri.order_item_id
  where ri.refund_id = r.id and oi.order_id <> r.order_id limit 1;
  if found then
    raise exception 'refund % of order % names item %, which belongs to another order', r.id, r.order_id, stray
      using errcode = 'VALID';
  end if;
  select oi.id, oi.amount, sum(ri.amount) as refunded into over
  from settle.refund_items ri
  join settle.refunds f on f.id = ri.refund_id and f.status <> 'failed'
  join settle.order_items oi on oi.id = ri.order_item_id
  where oi.order_id = r.order_id
  group by oi.id, oi.amount
  having sum(ri.amount) > oi.amount
  limit 1;
  if found then
    raise exception 'refunds of item % would add up to %, above the item amount %', over.id, over.refunded, over.amount
      using errcode = 'RFEXC';
  end if;
end;
$$;

create function settle_private.tg_refund_items__check() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_refund_items(case when tg_op = 'DELETE' then OLD.refund_id else NEW.refund_id end);
  return null;
end;
$$;
create constraint trigger _800_check_money after insert or update or delete on settle.refund_items
  deferrable initially deferred
  for each row execute function settle_private.tg_refund_items__check();

create function settle_private.tg_refunds__check_items() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.assert_refund_items(NEW.id);
  return null;
end;
$$;
create constraint trigger _810_check_items after update of amount, status on settle.refunds
  deferrable initially deferred
  for each row execute function settle_private.tg_refunds__check_items();

/* Lines are part of what was refunded: frozen once their refund left pending. */
create function settle_private.tg_refund_items__frozen_with_refund() returns trigger
language plpgsql
as $$
declare
  refund_status text;
begin
  select status into refund_status from settle.refunds
  where id = case when tg_op = 'DELETE' then OLD.refund_id else NEW.refund_id end;
  if refund_status is not null and refund_status <> 'pending' then
    raise exception 'lines of refund % cannot change: the refund is %',
        case when tg_op = 'DELETE' then OLD.refund_id else NEW.refund_id end, refund_status
      using errcode = 'IMMUT';
  end if;
  return case tg_op when 'DELETE' then OLD else NEW end;
end;
$$;
create trigger _200_frozen_with_refund before insert or update or delete on settle.refund_items
  for each row execute function settle_private.tg_refund_items__frozen_with_refund();

alter table settle.refund_items enable row level security;
grant select on settle.refund_items to settle_platform, settle_admin, settle_buyer;
create policy staff_select on settle.refund_items for select to settle_platform, settle_admin using (true);
create policy buyer_select on settle.refund_items for select to settle_buyer
  using (exists (select 1 from settle.refunds f join settle.orders o on o.id = f.order_id
                 where f.id = refund_id and o.buyer_id = settle.current_subject()));
