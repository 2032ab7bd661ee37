--! Previous: sha1:900e2344daf8588f43eec642172d026b5d07c866
--! Hash: sha1:4ceb625d29afd76c63ca424a8551a7227ef344a4
--! Message: subscription flows

/*
 * Subscriptions (SPEC §5): what each step does to the subscription and its
 * invoices, in the database, so the API, the worker and an operator share one set
 * of rules. The payment gate (000014) stays the last word: an invoice becomes paid
 * and its subscription active/renewed in one transaction, here.
 *
 * Charge attempts: attempt k of an invoice (0-based) is one Hyperswitch payment
 * whose payment_id is the invoice id for k = 0, `<invoice id>_<k>` for a dunning
 * retry. Hyperswitch deduplicates by payment_id and a failed payment cannot be
 * charged again under the same id, so each retry needs an id of its own; the
 * suffix keeps it ours and tells which attempt an event is about.
 * attempt_count counts the attempts recorded; a pending invoice with
 * attempt_count = 0 is still to be charged, with attempt_count > 0 it waits for
 * the PSP's answer (webhook).
 */
alter table settle.subscription_invoices add column dunning_started_at timestamptz;
comment on column settle.subscription_invoices.dunning_started_at is E'When the first attempt failed: the dunning retries are scheduled from it (DUNNING_RETRY_SCHEDULE).';

create function settle_private.plan_period_end(p_start timestamptz, p_interval text) returns timestamptz
language sql immutable
as $$
  select p_start + ('1 ' || p_interval)::interval
$$;

/* The Hyperswitch payment_id of an invoice's attempt k. */
create function settle_private.invoice_payment_id(p_invoice_id uuid, p_attempt integer) returns text
language sql immutable
as $$
  select case when p_attempt = 0 then p_invoice_id::text else p_invoice_id::text || '_' || p_attempt end
$$;

/* The invoice and attempt a payment_id names, or no row when it cannot be one of ours. */
create function settle_private.invoice_attempt_of(p_payment_id text, out invoice_id uuid, out attempt integer)
returns setof record
language sql immutable
as $$
  select m[1]::uuid, coalesce(m[2]::integer, 0)
  from regexp_match(p_payment_id, '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:_([1-9][0-9]{0,3}))?$') as m
  where m is not null
$$;

/*
 * The subscription, then the invoice, locked in that order by every writer (API,
 * charge job, webhooks), so no two of them wait on each other in a cycle.
 */
create function settle_private.lock_invoice(p_invoice_id uuid) returns settle.subscription_invoices
language plpgsql
as $$
declare
  i settle.subscription_invoices;
begin
  perform 1 from settle.subscriptions
  where id = (select subscription_id from settle.subscription_invoices where id = p_invoice_id)
  for no key update;
  select * into i from settle.subscription_invoices where id = p_invoice_id for no key update;
  return i;
end;
$$;

/* The charge job's call was answered (not declined): attempt k is recorded and waits for its outcome. */
create function settle_private.invoice_charge_sent(p_invoice_id uuid, p_attempt integer) returns void
language plpgsql
as $$
begin
  -- failed -> pending is the dunning retry of the state machine. (Status is named
  -- only when it changes: naming it at all is a transition, and pending -> pending
  -- is none.)
  update settle.subscription_invoices set status = 'pending'
  where id = p_invoice_id and status = 'failed' and attempt_count = p_attempt;
  update settle.subscription_invoices
  set attempt_count = p_attempt + 1, next_attempt_at = null, last_error = null
  where id = p_invoice_id and status = 'pending' and attempt_count = p_attempt;
end;
$$;

/*
 * payment_succeeded for an invoice's attempt: the invoice is paid and, in the same
 * transaction, its subscription active on the invoice's period (incomplete ->
 * active, a renewal active -> active with the period moved, past_due -> active).
 * Returns applied / duplicate / conflict, or 'unknown' for a payment not ours.
 */
create function settle_private.apply_invoice_payment_succeeded(p_payment_id text) returns text
language plpgsql
as $$
declare
  ref record;
  i settle.subscription_invoices;
  s settle.subscriptions;
begin
  select * into ref from settle_private.invoice_attempt_of(p_payment_id);
  if not found then
    return 'unknown';
  end if;
  i := settle_private.lock_invoice(ref.invoice_id);
  if i.id is null then
    return 'unknown';
  end if;
  if i.status = 'paid' then
    -- Another attempt paid it already: the buyer was charged twice. For a human.
    return case when i.psp_payment_id = p_payment_id then 'duplicate' else 'conflict' end;
  elsif i.status = 'uncollectible' then
    -- Given up (dunning exhausted, or canceled), paid at the PSP after all: for a human.
    return 'conflict';
  end if;
  if i.status = 'failed' then
    update settle.subscription_invoices set status = 'pending' where id = i.id;
  end if;
  update settle.subscription_invoices
  set status = 'paid', psp_payment_id = p_payment_id, attempt_count = greatest(attempt_count, ref.attempt + 1),
      next_attempt_at = null, last_error = null
  where id = i.id;

  select * into s from settle.subscriptions where id = i.subscription_id;
  if s.status in ('incomplete', 'active', 'past_due')
     and (i.period_start >= s.current_period_end or s.status <> 'active') then
    update settle.subscriptions
    set status = 'active',
        current_period_start = greatest(current_period_start, i.period_start),
        current_period_end = greatest(current_period_end, i.period_end)
    where id = s.id;
  end if;
  return 'applied';
end;
$$;

/*
 * An invoice's attempt failed: the invoice is failed and its next attempt scheduled
 * from the first failure by p_schedule (offsets); with the retries used up it is
 * uncollectible and the subscription ends (canceled, or incomplete_expired when it
 * never started). A failing renewal makes an active subscription past_due.
 */
create function settle_private.invoice_failed(
  i settle.subscription_invoices, p_error text, p_now timestamptz, p_schedule interval[]
) returns void
language plpgsql
as $$
declare
  started timestamptz := coalesce(i.dunning_started_at, p_now);
  retries_done integer := greatest(i.attempt_count - 1, 0);
  s settle.subscriptions;
begin
  select * into s from settle.subscriptions where id = i.subscription_id;
  if retries_done < coalesce(cardinality(p_schedule), 0) then
    update settle.subscription_invoices
    set status = 'failed', last_error = p_error, dunning_started_at = started,
        next_attempt_at = started + p_schedule[retries_done + 1]
    where id = i.id;
    if s.status = 'active' and i.period_start >= s.current_period_end then
      update settle.subscriptions set status = 'past_due' where id = s.id;
    end if;
    return;
  end if;
  update settle.subscription_invoices
  set status = 'failed', last_error = p_error, dunning_started_at = started, next_attempt_at = null
  where id = i.id;
  update settle.subscription_invoices
  set status = 'uncollectible', last_error = format('uncollectible after %s attempts: %s', i.attempt_count, p_error)
  where id = i.id;
  if s.status = 'incomplete' then
    update settle.subscriptions set status = 'incomplete_expired' where id = s.id;
  elsif s.status in ('active', 'past_due') then
    update settle.subscriptions set status = 'canceled' where id = s.id;
  end if;
end;
$$;

/*
 * payment_failed for an invoice's attempt. An event about an earlier attempt than
 * the last one is stale; one about an attempt not recorded yet (its charge job
 * has not committed) raises NOTYT so the webhook job waits.
 */
create function settle_private.apply_invoice_payment_failed(
  p_payment_id text, p_error text, p_now timestamptz, p_schedule interval[]
) returns text
language plpgsql
as $$
declare
  ref record;
  i settle.subscription_invoices;
begin
  select * into ref from settle_private.invoice_attempt_of(p_payment_id);
  if not found then
    return 'unknown';
  end if;
  i := settle_private.lock_invoice(ref.invoice_id);
  if i.id is null then
    return 'unknown';
  end if;
  if ref.attempt >= i.attempt_count and i.status in ('pending', 'failed') then
    raise exception 'attempt % of invoice % failed before its charge was recorded', ref.attempt, i.id
      using errcode = 'NOTYT';
  end if;
  if ref.attempt < i.attempt_count - 1 then
    return 'stale';
  end if;
  case i.status
    when 'pending' then
      perform settle_private.invoice_failed(i, p_error, p_now, p_schedule);
      return 'applied';
    when 'failed', 'uncollectible' then
      return 'duplicate';
    else
      -- paid by this very attempt, failed at the PSP: contradictory, for a human.
      return 'conflict';
  end case;
end;
$$;

/*
 * The renewal at period end: the next period's invoice (priced by the plan now),
 * charged by its job. Only an active subscription renews: past_due is in dunning
 * for the period already invoiced. Returns the invoice id, or null when nothing is
 * due (early, not active, or invoiced already).
 */
create function settle_private.renew_subscription(p_subscription_id uuid, p_now timestamptz) returns uuid
language plpgsql
as $$
declare
  s settle.subscriptions;
  p settle.plans;
  created uuid;
begin
  select * into s from settle.subscriptions where id = p_subscription_id for no key update;
  if not found or s.status <> 'active' or p_now < s.current_period_end then
    return null;
  end if;
  select * into p from settle.plans where id = s.plan_id;
  insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
  values (s.id, p.amount, p.currency, s.current_period_end, settle_private.plan_period_end(s.current_period_end, p.interval))
  on conflict (subscription_id, period_start) do nothing
  returning id into created;
  return created;
end;
$$;

/* The subscription's buyer, or the platform or an admin. */
create function settle_private.require_subscription_party(p_buyer_id uuid) returns void
language plpgsql stable
as $$
begin
  if settle.current_role_claim() = 'settle_buyer' and p_buyer_id is distinct from settle.current_subject() then
    raise exception 'this subscription belongs to another buyer' using errcode = '42501';
  end if;
  perform settle_private.require_caller('settle_buyer', 'settle_platform', 'settle_admin');
end;
$$;

/*
 * createSubscription: the subscription (incomplete) and its first invoice, whose
 * job charges it. One open subscription per buyer and plan.
 */
create function settle_api.create_subscription(p_buyer_id uuid, p_plan_id uuid) returns settle.subscriptions
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  p settle.plans;
  s settle.subscriptions;
begin
  if p_buyer_id is null then
    perform settle_private.invalid('buyerId: required');
  end if;
  if p_plan_id is null then
    perform settle_private.invalid('planId: required');
  end if;
  perform settle_private.require_subscription_party(p_buyer_id);
  -- Locked: two concurrent creates for one buyer must not both pass the check below.
  perform 1 from settle.buyers where id = p_buyer_id for no key update;
  if not found then
    perform settle_private.invalid(format('buyerId: no buyer %s', p_buyer_id));
  end if;
  select * into p from settle.plans where id = p_plan_id;
  if not found then
    perform settle_private.invalid(format('planId: no plan %s', p_plan_id));
  end if;
  select * into s from settle.subscriptions
  where buyer_id = p_buyer_id and plan_id = p_plan_id and status in ('incomplete', 'active', 'past_due');
  if found then
    raise exception 'buyer % already has subscription % to plan % (%)', p_buyer_id, s.id, p_plan_id, s.status
      using errcode = 'SUBEX', hint = 'Cancel it first.';
  end if;
  insert into settle.subscriptions (buyer_id, plan_id, current_period_start, current_period_end)
  values (p_buyer_id, p.id, now(), settle_private.plan_period_end(now(), p.interval))
  returning * into s;
  insert into settle.subscription_invoices (subscription_id, amount, currency, period_start, period_end)
  values (s.id, p.amount, p.currency, s.current_period_start, s.current_period_end);
  return s;
end;
$$;

/*
 * cancelSubscription, at once: active/past_due -> canceled, incomplete ->
 * incomplete_expired. Invoices still open are given up (uncollectible); a charge
 * already at the PSP that succeeds later is kept as a conflict for a human.
 */
create function settle_api.cancel_subscription(p_subscription_id uuid) returns settle.subscriptions
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  s settle.subscriptions;
begin
  if p_subscription_id is null then
    perform settle_private.invalid('subscriptionId: required');
  end if;
  select * into s from settle.subscriptions where id = p_subscription_id for no key update;
  if not found then
    perform settle_private.invalid(format('subscriptionId: no subscription %s', p_subscription_id));
  end if;
  perform settle_private.require_subscription_party(s.buyer_id);
  if s.status not in ('incomplete', 'active', 'past_due') then
    raise exception 'subscription % is % already', s.id, s.status using errcode = 'ILTRN';
  end if;
  update settle.subscription_invoices set status = 'failed', last_error = 'subscription canceled'
  where subscription_id = s.id and status = 'pending';
  update settle.subscription_invoices
  set status = 'uncollectible', next_attempt_at = null, last_error = 'subscription canceled'
  where subscription_id = s.id and status = 'failed';
  update settle.subscriptions
  set status = case when status = 'incomplete' then 'incomplete_expired' else 'canceled' end
  where id = s.id
  returning * into s;
  return s;
end;
$$;

grant execute on function settle_api.create_subscription(uuid, uuid), settle_api.cancel_subscription(uuid)
  to settle_platform, settle_buyer, settle_admin;
