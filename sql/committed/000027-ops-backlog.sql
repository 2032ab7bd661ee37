--! Previous: sha1:7ad9fcf68df8faff00bdc2423515f2e02d0c0a0b
--! Hash: sha1:0359f1f297d0b2e4a8fef2ed8fcb5e942e4de8c6
--! Message: ops backlog

/*
 * Work not finished, per entity and status, with the age of its oldest row: the
 * numbers an on-call engineer (and /metrics) watches to see a queue growing or a
 * row stuck. Final statuses are left out; permanently_failed is in, since it waits
 * on a human.
 */
create view ops.backlog as
  select 'orders' as entity, status, count(*) as count,
         extract(epoch from now() - min(updated_at))::bigint as oldest_seconds
  from settle.orders where status in ('pending', 'payment_pending') group by status
  union all
  select 'refunds', status, count(*), extract(epoch from now() - min(updated_at))::bigint
  from settle.refunds where status in ('pending', 'processing') group by status
  union all
  select 'seller_transfers', status, count(*), extract(epoch from now() - min(updated_at))::bigint
  from settle.seller_transfers where status in ('pending', 'failed', 'permanently_failed') group by status
  union all
  select 'transfer_reversals', status, count(*), extract(epoch from now() - min(updated_at))::bigint
  from settle.transfer_reversals where status in ('pending', 'permanently_failed') group by status
  union all
  select 'seller_payouts', status, count(*), extract(epoch from now() - min(updated_at))::bigint
  from settle.seller_payouts where status in ('pending', 'in_transit') group by status
  union all
  select 'subscription_invoices', status, count(*), extract(epoch from now() - min(updated_at))::bigint
  from settle.subscription_invoices where status in ('pending', 'failed') group by status
  union all
  select 'webhook_events', 'unprocessed', count(*), extract(epoch from now() - min(received_at))::bigint
  from settle.webhook_events where processed_at is null having count(*) > 0;
comment on view ops.backlog is E'Unfinished work per entity and status: how many rows, and how old the oldest is (seconds).';
grant select on ops.backlog to settle_admin;
