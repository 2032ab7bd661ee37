--! Previous: sha1:0a6739c1767d2d0b74e47e9a767f8d48713ee5b0
--! Hash: sha1:97d809b72bf1c76ca8098123d5ddfe6a0cf17a20
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
