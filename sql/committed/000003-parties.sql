--! Previous: sha1:fe93cb63acbbaf319b0836496c345bd7288d1de7
--! Hash: sha1:5efb39765e6d1e27a39d59e16b1231cae66186b5
--! Message: parties

/*
 * The two sides of the marketplace. A seller is paid through its Stripe Connect
 * account; a buyer pays through Hyperswitch. Rows are created through
 * settle.register_seller / settle.register_buyer (see api functions).
 */
create table settle.sellers (
  id uuid primary key default gen_random_uuid(),
  stripe_account_id text not null
    constraint sellers_stripe_account_id_format check (stripe_account_id ~ '^acct_\w+$'),
  name text not null
    constraint sellers_name_not_blank check (btrim(name) <> '' and length(name) <= 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.sellers is E'A seller of the marketplace, paid through its Stripe Connect account.';
comment on column settle.sellers.stripe_account_id is E'The connected account (acct_...) that receives transfers and payouts.';
-- One seller per connected account: two rows would split one balance in two ledgers.
create unique index sellers_stripe_account_id_key on settle.sellers (stripe_account_id)
  where stripe_account_id is not null and stripe_account_id <> '';
create trigger _100_touch_updated_at before update on settle.sellers
  for each row execute function settle_private.tg__touch_updated_at();

create table settle.buyers (
  id uuid primary key default gen_random_uuid(),
  email text
    constraint buyers_email_format check (email ~ '^[^@\s]+@[^@\s]+$' and length(email) <= 320),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.buyers is E'A buyer of the marketplace; pays for orders and subscriptions.';
create trigger _100_touch_updated_at before update on settle.buyers
  for each row execute function settle_private.tg__touch_updated_at();
