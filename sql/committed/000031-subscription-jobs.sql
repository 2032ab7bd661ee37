--! Previous: sha1:4ceb625d29afd76c63ca424a8551a7227ef344a4
--! Hash: sha1:fa7d1b33407853a1c60886394a7f6e528da18e67
--! Message: subscription jobs

/*
 * Subscription jobs, enqueued by triggers with the state they act on (as in
 * 000021), keyed by the row so a row has one waiting job:
 *   subscription_invoices__charge  an invoice to charge: new (attempt_count = 0),
 *                                  or failed with its dunning retry due at
 *                                  next_attempt_at (the job's run_at)
 *   subscriptions__renew           an active subscription, at its period end
 * and the sweeper re-drives the ones whose job was lost.
 */
create index subscription_invoices_to_charge_idx on settle.subscription_invoices ((coalesce(next_attempt_at, created_at)))
  where (status = 'pending' and attempt_count = 0) or (status = 'failed' and next_attempt_at is not null);
create index subscriptions_active_period_end_idx on settle.subscriptions (current_period_end) where status = 'active';

create function settle_private.tg_subscription_invoices__enqueue() returns trigger
language plpgsql
as $$
begin
  if (NEW.status = 'pending' and NEW.attempt_count = 0)
     or (NEW.status = 'failed' and NEW.next_attempt_at is not null) then
    perform settle_private.enqueue(
      'subscription_invoices__charge', json_build_object('id', NEW.id),
      coalesce(NEW.next_attempt_at, now()), 'subscription_invoices:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert or update of status, next_attempt_at on settle.subscription_invoices
  for each row execute function settle_private.tg_subscription_invoices__enqueue();

create function settle_private.tg_subscriptions__enqueue_renewal() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'active' then
    perform settle_private.enqueue(
      'subscriptions__renew', json_build_object('id', NEW.id),
      NEW.current_period_end, 'subscriptions:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert or update of status, current_period_end on settle.subscriptions
  for each row execute function settle_private.tg_subscriptions__enqueue_renewal();

/*
 * The sweeper also re-drives invoices to charge and subscriptions to renew. The
 * sweep as earlier migrations left it (000025, extended by others since) is kept
 * whole under another name and called first, so this one composes with it
 * instead of copying it.
 */
alter function settle_private.sweep(interval) rename to sweep_before_subscriptions;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
declare
  n integer;
  r record;
begin
  return query select s.kind, s.requeued from settle_private.sweep_before_subscriptions(p_grace) s;

  n := 0;
  for r in
    select id from settle.subscription_invoices
    where ((status = 'pending' and attempt_count = 0) or (status = 'failed' and next_attempt_at is not null))
      and coalesce(next_attempt_at, created_at) < now() - p_grace
  loop
    if not settle_private.has_waiting_job('subscription_invoices:' || r.id) then
      perform settle_private.enqueue('subscription_invoices__charge', json_build_object('id', r.id), now(),
        'subscription_invoices:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'subscription_invoices'; requeued := n; return next;

  n := 0;
  for r in
    select s.id from settle.subscriptions s
    where s.status = 'active' and s.current_period_end < now() - p_grace
      and not exists (select 1 from settle.subscription_invoices i
                      where i.subscription_id = s.id and i.period_start = s.current_period_end)
  loop
    if not settle_private.has_waiting_job('subscriptions:' || r.id) then
      perform settle_private.enqueue('subscriptions__renew', json_build_object('id', r.id), now(), 'subscriptions:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'subscriptions'; requeued := n; return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
