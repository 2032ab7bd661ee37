--! Previous: sha1:12e1b7e3702de12cbaba0ed54bd64ec70529923c
--! Hash: sha1:de7c3e52eb68b4a19d323a62c4206f58c643f77c
--! Message: seller transfers

/*
 * A seller's share of a paid order, moved to its connected account by one Stripe
 * transfer (idempotency key = seller_transfers.id, transfer_group = order id).
 * retry_count / next_retry_at / last_error drive the backoff of the transfer job.
 * legacy_import marks rows brought from an older system: they may be inserted in a
 * later status and may lack the Stripe id that the backfill CLI repairs.
 */
create table settle.seller_transfers (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null references settle.orders (id) on delete restrict,
  seller_id uuid not null references settle.sellers (id) on delete restrict,
  amount bigint not null constraint seller_transfers_amount_positive check (amount > 0),
  currency char(3) not null constraint seller_transfers_currency_format check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending'
    constraint seller_transfers_status_valid check (status in (
      'pending', 'completed', 'failed', 'permanently_failed', 'cancelled',
      'partially_reversed', 'reversed')),
  stripe_transfer_id text,
  retry_count integer not null default 0 constraint seller_transfers_retry_count_nonnegative check (retry_count >= 0),
  next_retry_at timestamptz,
  last_error text,
  legacy_import boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Money that left for Stripe is traceable to its Stripe object.
  constraint seller_transfers_made_have_stripe_id check (
    legacy_import
    or status not in ('completed', 'partially_reversed', 'reversed')
    or coalesce(stripe_transfer_id, '') <> '')
);
comment on table settle.seller_transfers is E'A seller''s share of a paid order, sent by one Stripe Connect transfer (idempotency key = id).';
comment on column settle.seller_transfers.legacy_import is E'Row brought from an older system: may start in a later status and lack its Stripe id until the backfill repairs it. Never changes after insert.';
create index seller_transfers_order_id_idx on settle.seller_transfers (order_id);
create index seller_transfers_seller_id_idx on settle.seller_transfers (seller_id);
-- The transfer job and the sweeper look for due work only.
create index seller_transfers_due_idx on settle.seller_transfers (next_retry_at)
  where status in ('pending', 'failed');
create unique index seller_transfers_stripe_transfer_id_key on settle.seller_transfers (stripe_transfer_id)
  where stripe_transfer_id is not null and stripe_transfer_id <> '';
create trigger _100_touch_updated_at before update on settle.seller_transfers
  for each row execute function settle_private.tg__touch_updated_at();
