--! Previous: sha1:0359f1f297d0b2e4a8fef2ed8fcb5e942e4de8c6
--! Hash: sha1:df467c673e50acfe9b5e14126131d7cd0ce8cee8
--! Message: seller payouts flow

/*
 * Payouts (SPEC §5): money leaving a seller's connected account for its bank.
 *   createPayout / the daily run  -> settle_private.create_payout: the row (pending),
 *                                    its job enqueued by trigger, behind the balance
 *   seller_payouts__create job    -> Stripe payouts.create on the connected account,
 *                                    key = row id -> external_payout_id
 *   payout.* webhooks             -> settle_private.apply_payout_event moves status
 *
 * "Available" is defined once, in settle_private.seller_balances, per currency:
 *     transfers made (completed, partially_reversed, reversed)
 *   - their reversals that are not permanently_failed (pending ones count as taken
 *     back already: the money is on its way out)
 *   - payouts not failed or canceled (a failed payout simply stops counting)
 * and the seller is HELD (nothing is paid) while any of its money cannot be located:
 * a transfer still pending/failed (it may be made any moment) or permanently_failed
 * with an unresolved unknown outcome (it may have been made), a reversal still
 * pending, or a reversal that gave up without a known reason to. Holding is the
 * conservative side: we never pay out money that may have to be taken back, at the
 * price of paying a little later. 000029 refines this with seller debts.
 *
 * settle_private.create_payout refuses a payout above what is available (BALEX) or
 * of a held seller (BALHD), under the seller row's lock. It is not (yet) a deferred
 * trigger on every insert: the existing test fixtures insert unbacked payouts
 * directly as the owner (test/db/transitions, column-guards, row-level-security).
 */

/* Retry bookkeeping of the payout job, as for transfers (000020). */
alter table settle.seller_payouts
  add column retry_count integer not null default 0 constraint seller_payouts_retry_count_nonnegative check (retry_count >= 0),
  add column next_retry_at timestamptz,
  add column outcome_unknown boolean not null default false;
comment on column settle.seller_payouts.outcome_unknown is E'The last Stripe call may have executed: retried only with the same key (Stripe replays it), never a fresh one.';
comment on column settle.seller_payouts.next_retry_at is E'When the job tries again; infinity = parked for a human (an unknown outcome past Stripe''s idempotency window).';

create function settle_private.seller_balances(p_seller_id uuid)
returns table (currency text, available bigint, held text)
language sql stable
as $$
  with transfers as (
    select t.id, t.currency::text as currency, t.amount, t.status, t.outcome_unknown
    from settle.seller_transfers t where t.seller_id = p_seller_id
  ),
  reversals as (
    select r.id, t.currency, r.amount, r.status
    from settle.transfer_reversals r join transfers t on t.id = r.seller_transfer_id
  ),
  money (currency, delta) as (
    select currency, amount from transfers where status in ('completed', 'partially_reversed', 'reversed')
    union all
    select currency, -amount from reversals where status <> 'permanently_failed'
    union all
    select p.currency::text, -p.amount from settle.seller_payouts p
    where p.seller_id = p_seller_id and p.status not in ('failed', 'canceled')
  ),
  holds (currency, why) as (
    select currency, format('transfer %s is %s', id, status) from transfers
    where status in ('pending', 'failed') or (status = 'permanently_failed' and outcome_unknown)
    union all
    select currency, format('reversal %s is %s', id, status) from reversals
    where status in ('pending', 'permanently_failed')
  )
  select c.currency,
         coalesce((select sum(m.delta) from money m where m.currency = c.currency), 0)::bigint,
         (select string_agg(h.why, '; ' order by h.why) from holds h where h.currency = c.currency)
  from (select currency from money union select currency from holds) c
$$;
comment on function settle_private.seller_balances(uuid) is E'Per currency, what a seller may be paid out (available) and why it is held (null = not held).';

/*
 * The one way Settle makes a payout (createPayout, the daily run). The seller row
 * is locked FOR NO KEY UPDATE first and stays locked until commit, so payouts of
 * one seller serialize: the second computes its balance after the first committed.
 * No amount = all that is available; no currency = the seller's only one.
 */
create function settle_private.create_payout(p_seller_id uuid, p_amount bigint, p_currency text)
returns settle.seller_payouts
language plpgsql
as $$
declare
  b record;
  currencies text;
  created settle.seller_payouts;
begin
  if p_seller_id is null then
    perform settle_private.invalid('sellerId: required');
  end if;
  perform 1 from settle.sellers where id = p_seller_id for no key update;
  if not found then
    perform settle_private.invalid(format('sellerId: no seller %s', p_seller_id));
  end if;
  if p_amount is not null and p_amount <= 0 then
    perform settle_private.invalid(format('amount: must be a positive integer of minor units, got %s', p_amount));
  end if;
  if p_currency is null then
    select string_agg(currency, ', ' order by currency) into currencies
    from settle_private.seller_balances(p_seller_id);
    if currencies like '%,%' then
      perform settle_private.invalid(format('currency: seller %s has balances in %s; say which', p_seller_id, currencies));
    end if;
    p_currency := currencies;
  end if;
  p_currency := upper(p_currency);
  select * into b from settle_private.seller_balances(p_seller_id) where currency = p_currency;
  if b.held is not null then
    raise exception 'seller % is held in %: %', p_seller_id, p_currency, b.held
      using errcode = 'BALHD', hint = 'Money that cannot be located yet is not paid out; it is once those rows settle.';
  end if;
  if coalesce(b.available, 0) <= 0 then
    raise exception 'seller % has nothing available to pay out%', p_seller_id,
        coalesce(' in ' || p_currency, '')
      using errcode = 'BALEX';
  end if;
  if p_amount > b.available then
    raise exception 'payout of % exceeds what seller % has available in %: %', p_amount, p_seller_id, p_currency, b.available
      using errcode = 'BALEX';
  end if;
  insert into settle.seller_payouts (seller_id, amount, currency)
  values (p_seller_id, coalesce(p_amount, b.available), p_currency)
  returning * into created;
  return created;
end;
$$;

/* createPayout (admin). */
create function settle_api.create_payout(p_seller_id uuid, p_amount bigint, p_currency text default null)
returns settle.seller_payouts
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform settle_private.require_caller('settle_admin');
  return settle_private.create_payout(p_seller_id, p_amount, p_currency);
end;
$$;
grant execute on function settle_api.create_payout(uuid, bigint, text) to settle_admin;

/* A payout not sent yet has a job; infinity parks it for a human. */
create function settle_private.tg_seller_payouts__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'pending' and coalesce(NEW.external_payout_id, '') = ''
     and NEW.next_retry_at is distinct from 'infinity' then
    perform settle_private.enqueue(
      'seller_payouts__create', json_build_object('id', NEW.id),
      coalesce(NEW.next_retry_at, now()), 'seller_payouts:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert or update of next_retry_at on settle.seller_payouts
  for each row execute function settle_private.tg_seller_payouts__enqueue();
create index seller_payouts_unsent_idx on settle.seller_payouts ((coalesce(next_retry_at, updated_at)))
  where status = 'pending' and coalesce(external_payout_id, '') = '';

/*
 * A Stripe payout.* event. The row is found by its payout id, else by the
 * metadata we sent (the event overtook our call's answer: the id is adopted).
 * Returns applied | duplicate | stale | conflict | unknown, like 000024.
 */
create function settle_private.apply_payout_event(
  p_payout_id uuid, p_external_id text, p_status text, p_error text
) returns text
language plpgsql
as $$
declare
  p settle.seller_payouts;
begin
  select * into p from settle.seller_payouts where external_payout_id = p_external_id for no key update;
  if not found and p_payout_id is not null then
    select * into p from settle.seller_payouts where id = p_payout_id for no key update;
  end if;
  if not found then
    return 'unknown';
  end if;
  if coalesce(p.external_payout_id, '') = '' then
    update settle.seller_payouts set external_payout_id = p_external_id, outcome_unknown = false
    where id = p.id returning * into p;
  elsif p.external_payout_id <> p_external_id then
    return 'conflict';
  end if;
  if p.status = p_status then
    return 'duplicate';
  end if;
  if exists (select 1 from settle_private.allowed_transitions
             where entity = 'seller_payouts' and from_status = p.status and to_status = p_status) then
    update settle.seller_payouts
    set status = p_status, last_error = case when p_status = 'failed' then p_error end
    where id = p.id;
    return 'applied';
  end if;
  -- in_transit after a final status is an old event; paid/failed/canceled against
  -- another final status contradicts what we recorded (e.g. failed after paid).
  return case when p_status = 'in_transit' then 'stale' else 'conflict' end;
end;
$$;

/*
 * Lost jobs of payouts not sent yet get a new one. Kept out of settle_private.sweep
 * (000025, which later migrations replace wholesale): the daily payout run calls
 * it, and the sweep may call it too.
 */
create function settle_private.sweep_payouts(p_grace interval) returns integer
language plpgsql
as $$
declare
  n integer := 0;
  r record;
begin
  for r in
    select id from settle.seller_payouts
    where status = 'pending' and coalesce(external_payout_id, '') = ''
      and coalesce(next_retry_at, updated_at) < now() - p_grace
  loop
    if not settle_private.has_waiting_job('seller_payouts:' || r.id) then
      perform settle_private.enqueue('seller_payouts__create', json_build_object('id', r.id), now(), 'seller_payouts:' || r.id);
      n := n + 1;
    end if;
  end loop;
  return n;
end;
$$;
comment on function settle_private.sweep_payouts(interval) is E'Re-enqueues payouts not sent yet whose job is gone; returns how many.';
