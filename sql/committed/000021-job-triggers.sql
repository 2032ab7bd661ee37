--! Previous: sha1:6f0e74e5954c917493150846f9d5bce0520db98a
--! Hash: sha1:400f12d20f82b733e884978881e5a1809ac5f438
--! Message: job triggers

/*
 * Jobs are enqueued in the same transaction as the state they act on, by
 * triggers, so no code path can change a row and forget its job. job_key makes the
 * row's job unique ('<table>:<id>'): enqueueing again replaces the waiting job
 * (new run_at) instead of adding a second one. If the existing job is locked (its
 * worker is running it, or died holding it), graphile-worker retires it and adds a
 * new one; the task itself takes the row with FOR UPDATE, so two runs for one row
 * never call the PSP together.
 *
 * The row, not the job, is the source of truth: the sweeper task re-enqueues rows
 * whose job is gone (a worker killed while holding it keeps it locked for hours).
 */
drop function settle_private.enqueue(text, json, timestamptz, text, integer);
create function settle_private.enqueue(
  task text,
  payload json,
  run_at timestamptz default now(),
  job_key text default null,
  flags text[] default null
) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform graphile_worker.add_job(
    identifier := task,
    payload := payload,
    run_at := greatest(run_at, now()),
    job_key := job_key,
    flags := flags
  );
end;
$$;
comment on function settle_private.enqueue(text, json, timestamptz, text, text[]) is E'graphile_worker.add_job with the worker schema owner''s rights; run_at in the past means now.';

/* A transfer waiting to be made (pending, or failed and due again) has a job. */
create function settle_private.tg_seller_transfers__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.status in ('pending', 'failed') and not NEW.legacy_import then
    perform settle_private.enqueue(
      'seller_transfers__create', json_build_object('id', NEW.id),
      coalesce(NEW.next_retry_at, now()), 'seller_transfers:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert or update of status, next_retry_at on settle.seller_transfers
  for each row execute function settle_private.tg_seller_transfers__enqueue();

/*
 * A pending reversal has a job. Its jobs carry the flag `reversals`, which a worker
 * refuses while REVERSAL_WORKER_ENABLED=false: rows still accumulate, and run when
 * reversals are enabled again.
 */
create function settle_private.tg_transfer_reversals__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'pending' then
    perform settle_private.enqueue(
      'transfer_reversals__reverse', json_build_object('id', NEW.id),
      coalesce(NEW.next_retry_at, now()), 'transfer_reversals:' || NEW.id, array['reversals']);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert or update of status, next_retry_at on settle.transfer_reversals
  for each row execute function settle_private.tg_transfer_reversals__enqueue();

/*
 * A refund's phase 2 (POST /refunds) normally runs inside the refundOrder mutation.
 * The job is the safety net for a crash between the phases: it runs a little later
 * and finds nothing to do when phase 2 already happened.
 */
create function settle_private.tg_refunds__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'pending' then
    perform settle_private.enqueue(
      'refunds__send', json_build_object('id', NEW.id),
      now() + interval '30 seconds', 'refunds:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert on settle.refunds
  for each row execute function settle_private.tg_refunds__enqueue();

/* A stored webhook is processed by a job, enqueued with the insert that stored it. */
create function settle_private.tg_webhook_events__enqueue() returns trigger
language plpgsql
as $$
begin
  perform settle_private.enqueue(
    'webhook_events__process', json_build_object('id', NEW.id), now(), 'webhook_events:' || NEW.id);
  return null;
end;
$$;
create trigger _600_enqueue after insert on settle.webhook_events
  for each row execute function settle_private.tg_webhook_events__enqueue();
