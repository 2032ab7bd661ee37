--! Previous: sha1:1a6bdebc4383401a389ab4e60fba9fbaf0c288bf
--! Hash: sha1:81a694bf8fb9fc32c20de3cb4355adc55ba38e3d
--! Message: sweeper

/*
 * The sweeper's query (SPEC §1.5): the row, not the job, is the source of truth.
 * Rows that should be moving but have had no waiting job for longer than the grace
 * period get one again: a job lost with a crashed worker (graphile-worker keeps a
 * dead worker's jobs locked for 4 hours, so a locked job does not count as
 * waiting), a webhook stored but never processed, a refund stranded between its
 * phases. Each kind reads a partial index on its due time, so a sweep costs what
 * is due, not what is stored.
 */
drop index settle.seller_transfers_due_idx;
create index seller_transfers_due_at_idx on settle.seller_transfers ((coalesce(next_retry_at, updated_at)))
  where status in ('pending', 'failed') and not legacy_import;
drop index settle.transfer_reversals_due_idx;
create index transfer_reversals_due_at_idx on settle.transfer_reversals ((coalesce(next_retry_at, updated_at)))
  where status = 'pending';
create index refunds_pending_idx on settle.refunds (created_at) where status = 'pending';

create function settle_private.has_waiting_job(p_key text) returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select exists (select 1 from graphile_worker.jobs where key = p_key and locked_at is null)
$$;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
declare
  n integer;
  r record;
begin
  n := 0;
  for r in
    select id from settle.seller_transfers
    where status in ('pending', 'failed') and not legacy_import
      and coalesce(next_retry_at, updated_at) < now() - p_grace
  loop
    if not settle_private.has_waiting_job('seller_transfers:' || r.id) then
      perform settle_private.enqueue('seller_transfers__create', json_build_object('id', r.id), now(), 'seller_transfers:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'seller_transfers'; requeued := n; return next;

  n := 0;
  for r in
    select id from settle.transfer_reversals
    where status = 'pending' and coalesce(next_retry_at, updated_at) < now() - p_grace
  loop
    if not settle_private.has_waiting_job('transfer_reversals:' || r.id) then
      perform settle_private.enqueue('transfer_reversals__reverse', json_build_object('id', r.id), now(),
        'transfer_reversals:' || r.id, array['reversals']);
      n := n + 1;
    end if;
  end loop;
  kind := 'transfer_reversals'; requeued := n; return next;

  n := 0;
  for r in select id from settle.refunds where status = 'pending' and created_at < now() - p_grace loop
    if not settle_private.has_waiting_job('refunds:' || r.id) then
      perform settle_private.enqueue('refunds__send', json_build_object('id', r.id), now(), 'refunds:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'refunds'; requeued := n; return next;

  n := 0;
  for r in select id from settle.webhook_events where processed_at is null and received_at < now() - p_grace loop
    if not settle_private.has_waiting_job('webhook_events:' || r.id) then
      perform settle_private.enqueue('webhook_events__process', json_build_object('id', r.id), now(), 'webhook_events:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'webhook_events'; requeued := n; return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
