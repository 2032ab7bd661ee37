--! Previous: sha1:de7c3e52eb68b4a19d323a62c4206f58c643f77c
--! Hash: sha1:1603eaf92c811934fb509892497702486b053090
--! Message: transfer reversals

/*
 * Taking (part of) a seller transfer back after a refund: one Stripe transfer
 * reversal per row (idempotency key = transfer_reversals.id). refund_id is null for a
 * reversal not caused by a refund.
 */
create table settle.transfer_reversals (
  id uuid primary key default gen_random_uuid(),
  seller_transfer_id uuid not null references settle.seller_transfers (id) on delete restrict,
  refund_id uuid references settle.refunds (id) on delete restrict,
  amount bigint not null constraint transfer_reversals_amount_positive check (amount > 0),
  status text not null default 'pending'
    constraint transfer_reversals_status_valid check (status in ('pending', 'reversed', 'permanently_failed')),
  stripe_reversal_id text,
  retry_count integer not null default 0 constraint transfer_reversals_retry_count_nonnegative check (retry_count >= 0),
  next_retry_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint transfer_reversals_reversed_have_stripe_id check (
    status <> 'reversed' or coalesce(stripe_reversal_id, '') <> '')
);
comment on table settle.transfer_reversals is E'A Stripe reversal of (part of) a seller transfer (idempotency key = id), usually caused by a refund.';
create index transfer_reversals_seller_transfer_id_idx on settle.transfer_reversals (seller_transfer_id);
create index transfer_reversals_refund_id_idx on settle.transfer_reversals (refund_id);
create index transfer_reversals_due_idx on settle.transfer_reversals (next_retry_at)
  where status = 'pending';
create unique index transfer_reversals_stripe_reversal_id_key on settle.transfer_reversals (stripe_reversal_id)
  where stripe_reversal_id is not null and stripe_reversal_id <> '';
create trigger _100_touch_updated_at before update on settle.transfer_reversals
  for each row execute function settle_private.tg__touch_updated_at();
