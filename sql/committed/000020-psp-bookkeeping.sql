--! Previous: sha1:d37b8eda8166bad0e51d38e5b6b0ff1dac123b38
--! Hash: sha1:6f0e74e5954c917493150846f9d5bce0520db98a
--! Message: psp bookkeeping

/*
 * What the flows remember about their PSP calls, beside status:
 *   psp_updated_at  the PSP's own `updated` time of the last event applied to an
 *                   order or refund: an older event is stale and ignored
 *                   (webhooks arrive out of order)
 *   key_attempt     0: the idempotency key of the next Stripe call is the row id;
 *                   n: it is `<row id>:<n>`. Stripe replays a saved 5xx for the
 *                   same key for 24 h, so after an unknown outcome that a lookup
 *                   could not resolve, the retry needs a fresh key (SPEC §1.2)
 *   outcome_unknown the last call may have executed: look the object up before
 *                   calling again
 * All move freely with retries (no column guard lists them).
 */
alter table settle.orders add column psp_updated_at timestamptz;
alter table settle.refunds add column psp_updated_at timestamptz;

alter table settle.seller_transfers
  add column key_attempt integer not null default 0 constraint seller_transfers_key_attempt_nonnegative check (key_attempt >= 0),
  add column outcome_unknown boolean not null default false;
alter table settle.transfer_reversals
  add column key_attempt integer not null default 0 constraint transfer_reversals_key_attempt_nonnegative check (key_attempt >= 0),
  add column outcome_unknown boolean not null default false;

comment on column settle.seller_transfers.key_attempt is E'0: the next Stripe call''s idempotency key is the row id; n: <id>:<n> (a fresh key after an unresolved unknown outcome).';
comment on column settle.seller_transfers.outcome_unknown is E'The last Stripe call may have executed: the next run looks the transfer up first.';
comment on column settle.transfer_reversals.key_attempt is E'0: the next Stripe call''s idempotency key is the row id; n: <id>:<n>.';
comment on column settle.transfer_reversals.outcome_unknown is E'The last Stripe call may have executed: the next run looks the reversal up first.';

/* The idempotency key of the next call for a row. */
create function settle.idempotency_key(id uuid, key_attempt integer) returns text
language sql immutable parallel safe
as $$
  select case when key_attempt = 0 then id::text else id::text || ':' || key_attempt end
$$;
comment on function settle.idempotency_key(uuid, integer) is E'@behavior -*\nThe idempotency key of a row''s next PSP call: its id, or <id>:<n> after n fresh keys.';
