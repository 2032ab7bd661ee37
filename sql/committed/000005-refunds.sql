--! Previous: sha1:18cb6a23e536793605125cc38a4b87ae1a002398
--! Hash: sha1:12e1b7e3702de12cbaba0ed54bd64ec70529923c
--! Message: refunds

/*
 * A refund of (part of) an order. Phase 1 inserts the row in `pending`; phase 2 sends
 * POST /refunds with refund_id = refunds.id, so the row exists before the PSP call
 * and its id is the call's idempotency handle.
 */
create table settle.refunds (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null references settle.orders (id) on delete restrict,
  amount bigint not null constraint refunds_amount_positive check (amount > 0),
  reason text constraint refunds_reason_length check (length(reason) <= 500),
  status text not null default 'pending'
    constraint refunds_status_valid check (status in ('pending', 'processing', 'succeeded', 'failed')),
  hyperswitch_refund_id text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.refunds is E'A refund of an order through Hyperswitch (refund_id = refunds.id).';
create index refunds_order_id_idx on settle.refunds (order_id);
create index refunds_status_idx on settle.refunds (status) where status in ('pending', 'processing');
create unique index refunds_hyperswitch_refund_id_key on settle.refunds (hyperswitch_refund_id)
  where hyperswitch_refund_id is not null and hyperswitch_refund_id <> '';
-- Two refunds in flight for one order could each pass the "within what was paid"
-- check against the other's stale total; one at a time makes the check exact.
create unique index refunds_one_in_flight_per_order on settle.refunds (order_id)
  where status in ('pending', 'processing');
create trigger _100_touch_updated_at before update on settle.refunds
  for each row execute function settle_private.tg__touch_updated_at();
