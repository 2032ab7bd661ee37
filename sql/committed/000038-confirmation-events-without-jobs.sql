--! Previous: sha1:a1d1fdb994d5b0224a382a2ebf4e01529cd73018
--! Hash: sha1:d92be4cbf0ce2231d4f6ed263a57a37e082472cf
--! Message: confirmation events without jobs

/*
 * A webhook event stored already processed needs no job. The endpoint stores
 * Stripe's transfer.* events that way: they only confirm what our own calls'
 * answers recorded, and a job each (one per transfer and per reversal) doubled
 * the jobs a reversal backlog costs (npm run bench). Everything else is stored
 * unprocessed and enqueued, as before; the sweeper only looks at unprocessed
 * events, so nothing changes for them.
 */
create or replace function settle_private.tg_webhook_events__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.processed_at is null then
    perform settle_private.enqueue(
      'webhook_events__process', json_build_object('id', NEW.id), now(), 'webhook_events:' || NEW.id);
  end if;
  return null;
end;
$$;
