--! Previous: sha1:5efb39765e6d1e27a39d59e16b1231cae66186b5
--! Hash: sha1:18cb6a23e536793605125cc38a4b87ae1a002398
--! Message: orders

/*
 * An order is what a buyer pays for in one Hyperswitch payment; its items say which
 * seller gets how much of it (amount minus the platform's fee). The payment's
 * merchant-chosen id at Hyperswitch is the order's id; psp_payment_id keeps the id
 * Hyperswitch reports back. Money is integer minor units of `currency`.
 * Status rules: state-machine migration; money rules: money-invariants migration.
 */
create table settle.orders (
  id uuid primary key default gen_random_uuid(),
  buyer_id uuid not null references settle.buyers (id) on delete restrict,
  currency char(3) not null constraint orders_currency_format check (currency ~ '^[A-Z]{3}$'),
  total_amount bigint not null constraint orders_total_amount_positive check (total_amount > 0),
  status text not null default 'pending'
    constraint orders_status_valid check (status in (
      'pending', 'payment_pending', 'paid', 'failed', 'cancelled',
      'partially_refunded', 'refunded')),
  psp_payment_id text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.orders is E'What a buyer pays for in one Hyperswitch payment (payment_id = orders.id).';
comment on column settle.orders.total_amount is E'Minor units of currency; always equals the sum of the order''s items (checked at commit).';
comment on column settle.orders.psp_payment_id is E'The payment id Hyperswitch reported; filled once.';
create index orders_buyer_id_idx on settle.orders (buyer_id);
create index orders_status_idx on settle.orders (status);
create unique index orders_psp_payment_id_key on settle.orders (psp_payment_id)
  where psp_payment_id is not null and psp_payment_id <> '';
create trigger _100_touch_updated_at before update on settle.orders
  for each row execute function settle_private.tg__touch_updated_at();

create table settle.order_items (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null references settle.orders (id) on delete cascade,
  seller_id uuid not null references settle.sellers (id) on delete restrict,
  amount bigint not null constraint order_items_amount_positive check (amount > 0),
  platform_fee bigint not null default 0
    constraint order_items_platform_fee_within_amount check (platform_fee >= 0 and platform_fee <= amount),
  created_at timestamptz not null default now()
);
comment on table settle.order_items is E'One seller''s line of an order. The seller''s share is amount - platform_fee.';
comment on column settle.order_items.platform_fee is E'What the platform keeps of this item, in minor units; never reversed to the buyer''s detriment.';
create index order_items_order_id_idx on settle.order_items (order_id);
create index order_items_seller_id_idx on settle.order_items (seller_id);
