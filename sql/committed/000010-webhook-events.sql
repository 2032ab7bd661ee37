--! Previous: sha1:2d81d39f3ba9e69444ded2b67957eaa6e4f2f5aa
--! Hash: sha1:08c8fb850492d022ebc8a77c77ec170d79704837
--! Message: webhook events

/*
 * Every verified webhook delivery, stored before it is processed. The unique
 * (provider, event_id) makes a redelivery a no-op: at-least-once delivery from the
 * PSP becomes exactly-once processing here.
 */
create table settle.webhook_events (
  id uuid primary key default gen_random_uuid(),
  provider text not null constraint webhook_events_provider_valid check (provider in ('hyperswitch', 'stripe')),
  event_id text not null constraint webhook_events_event_id_not_blank check (btrim(event_id) <> ''),
  event_type text,
  payload jsonb,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  constraint webhook_events_provider_event_id_key unique (provider, event_id)
);
comment on table settle.webhook_events is E'Verified webhook deliveries, unique per (provider, event_id); processed_at is set once handled.';
create index webhook_events_unprocessed_idx on settle.webhook_events (received_at) where processed_at is null;
