--! Previous: sha1:9d2bbc7b41da90df32e58afdd60feaa8d35ecd66
--! Hash: sha1:f5eeb5f236b879b27658b7f05ba0d40e0e745ba8
--! Message: subscription gate

/*
 * The payment gate: a subscription is `active` only while a `paid` invoice covers
 * its whole current period. Checked at commit for any write that leaves a
 * subscription active (activation, renewal, a moved period), so no code path, and no
 * operator at a prompt, can grant service that was not paid for. Paid invoices are
 * final and their periods frozen (column guards), so the subscription side is the
 * only one that can break the rule.
 */
create function settle_private.tg_subscriptions__require_paid_period() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  s record;
begin
  -- Deferred: judge the row as it is at commit, not as it was when the trigger queued.
  select id, status, current_period_start, current_period_end into s
  from settle.subscriptions where id = NEW.id;
  if not found or s.status <> 'active' then
    return null;
  end if;
  if not exists (
    select 1 from settle.subscription_invoices i
    where i.subscription_id = s.id
      and i.status = 'paid'
      and i.period_start <= s.current_period_start
      and i.period_end >= s.current_period_end
  ) then
    raise exception 'subscription % cannot be active: no paid invoice covers its period [%, %)',
        s.id, s.current_period_start, s.current_period_end
      using errcode = 'SUBGT', hint = 'Mark the period''s invoice paid (after the PSP confirms the payment) in the same transaction.';
  end if;
  return null;
end;
$$;
create constraint trigger _800_require_paid_period
  after insert or update of status, current_period_start, current_period_end on settle.subscriptions
  deferrable initially deferred
  for each row execute function settle_private.tg_subscriptions__require_paid_period();
