--! Previous: sha1:36c5ceb9bf8c11a7213fcb79c19e62500fde9589
--! Hash: sha1:f58e076aab69b082c277fc515c76ff7db7878607
--! Message: api functions

/*
 * The write entry points of the API that need no PSP call: registering the parties
 * and creating an order. They are SECURITY DEFINER (API roles have no table grants),
 * so each one checks its caller first and validates its input with a precise
 * message (VALID) before writing anything. Flows that call a PSP (confirm, refund,
 * retries, payouts, subscriptions) add their own entry points with their issue.
 *
 * Callers: the JWT role claim the server set for the request; with no claim at all
 * the caller is the database owner at a prompt, who could write the rows anyway.
 */
create function settle_private.require_caller(variadic allowed text[]) returns void
language plpgsql stable
as $$
declare
  claimed text := settle.current_role_claim();
begin
  if claimed is not null and not claimed = any (allowed) then
    raise exception 'role % may not do this (allowed: %)', claimed, array_to_string(allowed, ', ')
      using errcode = '42501';
  end if;
end;
$$;

create function settle_private.invalid(message text) returns void
language plpgsql immutable
as $$
begin
  raise exception '%', message using errcode = 'VALID';
end;
$$;

create function settle.register_seller(name text, stripe_account_id text) returns settle.sellers
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  seller settle.sellers;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  if name is null or btrim(name) = '' then
    perform settle_private.invalid('name: must not be empty');
  elsif length(name) > 200 then
    perform settle_private.invalid('name: at most 200 characters');
  end if;
  if stripe_account_id is null or stripe_account_id !~ '^acct_\w+$' then
    perform settle_private.invalid(format('stripeAccountId: must be a Stripe connected account id (acct_...), got %L', stripe_account_id));
  end if;
  if exists (select 1 from settle.sellers s where s.stripe_account_id = register_seller.stripe_account_id) then
    perform settle_private.invalid(format('stripeAccountId: %s is already registered to another seller', stripe_account_id));
  end if;
  insert into settle.sellers (name, stripe_account_id)
  values (btrim(register_seller.name), register_seller.stripe_account_id)
  returning * into seller;
  return seller;
end;
$$;
comment on function settle.register_seller(text, text) is E'@resultFieldName seller\nRegisters a seller and its Stripe Connect account. Platform and admin only.';

create function settle.register_buyer(email text) returns settle.buyers
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  buyer settle.buyers;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  if email is null or email !~ '^[^@\s]+@[^@\s]+$' or length(email) > 320 then
    perform settle_private.invalid(format('email: must be an e-mail address, got %L', email));
  end if;
  insert into settle.buyers (email) values (btrim(register_buyer.email)) returning * into buyer;
  return buyer;
end;
$$;
comment on function settle.register_buyer(text) is E'@resultFieldName buyer\nRegisters a buyer. Platform and admin only.';

create type settle.new_order_item as (
  seller_id uuid,
  amount bigint,
  platform_fee bigint
);
comment on type settle.new_order_item is E'One line of a new order: which seller, how much (minor units), and the platform''s fee out of it.';

create function settle.create_order(buyer_id uuid, currency text, items settle.new_order_item[])
returns settle.orders
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  created settle.orders;
  item settle.new_order_item;
  idx integer := 0;
  total bigint := 0;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  if buyer_id is null then
    perform settle_private.invalid('buyerId: required');
  elsif not exists (select 1 from settle.buyers b where b.id = create_order.buyer_id) then
    perform settle_private.invalid(format('buyerId: no buyer %s', buyer_id));
  end if;
  if currency is null or currency !~ '^[A-Z]{3}$' then
    perform settle_private.invalid(format('currency: must be an ISO-4217 code in upper case (e.g. EUR), got %L', currency));
  end if;
  if items is null or cardinality(items) = 0 then
    perform settle_private.invalid('items: at least one item is required');
  elsif cardinality(items) > 500 then
    perform settle_private.invalid('items: at most 500 items per order');
  end if;
  foreach item in array items loop
    if item.seller_id is null or not exists (select 1 from settle.sellers s where s.id = item.seller_id) then
      perform settle_private.invalid(format('items[%s].sellerId: no seller %s', idx, coalesce(item.seller_id::text, 'given')));
    end if;
    if item.amount is null or item.amount <= 0 then
      perform settle_private.invalid(format('items[%s].amount: must be a positive integer of minor units, got %s', idx, coalesce(item.amount::text, 'null')));
    end if;
    if item.platform_fee is null or item.platform_fee < 0 or item.platform_fee > item.amount then
      perform settle_private.invalid(format('items[%s].platformFee: must be between 0 and the item amount %s, got %s', idx, item.amount, coalesce(item.platform_fee::text, 'null')));
    end if;
    total := total + item.amount;
    idx := idx + 1;
  end loop;

  insert into settle.orders (buyer_id, currency, total_amount)
  values (create_order.buyer_id, create_order.currency, total)
  returning * into created;
  insert into settle.order_items (order_id, seller_id, amount, platform_fee)
  select created.id, i.seller_id, i.amount, i.platform_fee from unnest(items) as i;
  return created;
end;
$$;
comment on function settle.create_order(uuid, text, settle.new_order_item[]) is E'@resultFieldName order\nCreates an order in `pending` with its items; the total is the sum of the items. Platform and admin only.';

grant execute on function settle.register_seller(text, text), settle.register_buyer(text),
  settle.create_order(uuid, text, settle.new_order_item[])
  to settle_platform, settle_admin;
grant usage on type settle.new_order_item to settle_platform, settle_admin;

/*
 * Enqueueing a graphile-worker job needs the rights of the worker schema's owner;
 * flows call this from their SECURITY DEFINER functions and triggers, in the same
 * transaction as the state the job acts on. job_key makes a row's job unique: a
 * second enqueue for the same row replaces the waiting job instead of adding one.
 */
create function settle_private.enqueue(
  task text,
  payload json,
  run_at timestamptz default now(),
  job_key text default null,
  max_attempts integer default 25
) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform graphile_worker.add_job(
    identifier := task,
    payload := payload,
    run_at := run_at,
    job_key := job_key,
    max_attempts := max_attempts
  );
end;
$$;
