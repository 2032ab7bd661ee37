--! Previous: sha1:1603eaf92c811934fb509892497702486b053090
--! Hash: sha1:4ee3bb0fecaaad601bfc357c368baf2dc53a403f
--! Message: seller payouts

/*
 * Money leaving a seller's connected account for its bank: one Stripe payout per row
 * (idempotency key = seller_payouts.id). Statuses follow Stripe's spelling.
 */
create table settle.seller_payouts (
  id uuid primary key default gen_random_uuid(),
  seller_id uuid not null references settle.sellers (id) on delete restrict,
  amount bigint not null constraint seller_payouts_amount_positive check (amount > 0),
  currency char(3) not null constraint seller_payouts_currency_format check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending'
    constraint seller_payouts_status_valid check (status in ('pending', 'in_transit', 'paid', 'failed', 'canceled')),
  external_payout_id text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.seller_payouts is E'A Stripe payout from a seller''s connected account to its bank (idempotency key = id).';
create index seller_payouts_seller_id_idx on settle.seller_payouts (seller_id);
create unique index seller_payouts_external_payout_id_key on settle.seller_payouts (external_payout_id)
  where external_payout_id is not null and external_payout_id <> '';
create trigger _100_touch_updated_at before update on settle.seller_payouts
  for each row execute function settle_private.tg__touch_updated_at();
