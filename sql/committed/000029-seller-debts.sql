--! Previous: sha1:df467c673e50acfe9b5e14126131d7cd0ce8cee8
--! Hash: sha1:900e2344daf8588f43eec642172d026b5d07c866
--! Message: seller debts

/*
 * Seller debts (SPEC §5, §7): a reversal that Stripe refused for
 * balance_insufficient leaves money at the seller that the buyer got back from us.
 * The debt is recorded in the same transaction as the reversal's failure (trigger),
 * and netted against the seller's next payouts:
 *   open              counted against the seller's available balance
 *   settled, netting  a payout was made while it was counted: the money stays in
 *                     the seller's Stripe balance, withheld for good, so it keeps
 *                     counting (it must never be paid out later)
 *   settled, admin    resolved outside (collected, written off) with a reason: it
 *                     stops counting, and the reversal no longer holds the seller
 * A reversal is counted once: as itself while not permanently_failed, or as its
 * debt. Status changes are guarded (open -> settled) and audited like 000011's.
 */
create table settle.seller_debts (
  id uuid primary key default gen_random_uuid(),
  seller_id uuid not null references settle.sellers (id) on delete restrict,
  transfer_reversal_id uuid not null references settle.transfer_reversals (id) on delete restrict,
  amount bigint not null constraint seller_debts_amount_positive check (amount > 0),
  currency char(3) not null constraint seller_debts_currency_format check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'open' constraint seller_debts_status_valid check (status in ('open', 'settled')),
  settled_by text constraint seller_debts_settled_by_valid check (settled_by in ('netting', 'admin')),
  settled_payout_id uuid references settle.seller_payouts (id) on delete restrict,
  reason text,
  settled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint seller_debts_settled_consistent check (
    (status = 'open' and settled_by is null and settled_at is null)
    or (status = 'settled' and settled_by is not null and settled_at is not null
        and (settled_by = 'admin') = (settled_payout_id is null)))
);
comment on table settle.seller_debts is E'What a seller owes the platform: a reversal refused for balance_insufficient. Netted against its next payouts, or settled by an admin with a reason.';
comment on column settle.seller_debts.reason is E'Why it was settled: the payout it was netted against, or the admin''s words.';
create index seller_debts_seller_idx on settle.seller_debts (seller_id, currency) where status = 'open';
-- One counting debt per reversal: a reversal retried and refused again keeps its debt.
create unique index seller_debts_reversal_counting_key on settle.seller_debts (transfer_reversal_id)
  where status = 'open' or settled_by = 'netting';
create trigger _100_touch_updated_at before update on settle.seller_debts
  for each row execute function settle_private.tg__touch_updated_at();

/*
 * open -> settled, nothing else. Not a row of settle_private.allowed_transitions:
 * that table is SPEC §4's contract exactly (test/db/transitions checks it), so the
 * same rule is a small trigger here; the audit is the shared one (000011).
 */
create function settle_private.tg_seller_debts__status_transition() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'INSERT' and NEW.status <> 'open' then
    raise exception 'seller_debts % cannot be created in status %: new rows start in open', NEW.id, NEW.status
      using errcode = 'INITS';
  end if;
  if tg_op = 'UPDATE' and not (OLD.status = 'open' and NEW.status = 'settled') then
    raise exception 'illegal transition of seller_debts %: % -> %', OLD.id, OLD.status, NEW.status
      using errcode = 'ILTRN', hint = case when OLD.status = 'settled' then 'settled is final'
                                           else 'from open the allowed statuses are: settled' end;
  end if;
  return NEW;
end;
$$;
create trigger _100_status_transition before insert or update of status on settle.seller_debts
  for each row execute function settle_private.tg_seller_debts__status_transition();
create trigger _900_audit_transition after insert or update of status on settle.seller_debts
  for each row execute function settle_private.tg__audit_transition();
create trigger _200_guard_columns before update or delete on settle.seller_debts
  for each row execute function settle_private.tg__guard_columns(
    'open', 'seller_id,transfer_reversal_id,amount,currency', '');

alter table settle.seller_debts enable row level security;
grant select on settle.seller_debts to settle_platform, settle_admin, settle_seller;
create policy staff_select on settle.seller_debts for select to settle_platform, settle_admin using (true);
create policy seller_select on settle.seller_debts for select to settle_seller
  using (seller_id = settle.current_subject());

/* The debt, with the reversal's failure (the reversal job writes this prefix). */
create function settle_private.tg_transfer_reversals__record_debt() returns trigger
language plpgsql
as $$
begin
  insert into settle.seller_debts (seller_id, transfer_reversal_id, amount, currency)
  select t.seller_id, NEW.id, NEW.amount, t.currency
  from settle.seller_transfers t where t.id = NEW.seller_transfer_id
  on conflict (transfer_reversal_id) where status = 'open' or settled_by = 'netting' do nothing;
  return null;
end;
$$;
create trigger _700_record_debt after update of status on settle.transfer_reversals
  for each row
  when (NEW.status = 'permanently_failed' and OLD.status <> 'permanently_failed'
        and NEW.last_error like 'balance_insufficient:%')
  execute function settle_private.tg_transfer_reversals__record_debt();

/* Available, refined (000028): a reversal counts once, as itself or as its debt. */
create or replace function settle_private.seller_balances(p_seller_id uuid)
returns table (currency text, available bigint, held text)
language sql stable
as $$
  with transfers as (
    select t.id, t.currency::text as currency, t.amount, t.status, t.outcome_unknown
    from settle.seller_transfers t where t.seller_id = p_seller_id
  ),
  reversals as (
    select r.id, t.currency, r.amount, r.status,
           exists (select 1 from settle.seller_debts d where d.transfer_reversal_id = r.id
                   and (d.status = 'open' or d.settled_by = 'netting')) as counting_debt,
           exists (select 1 from settle.seller_debts d where d.transfer_reversal_id = r.id) as any_debt
    from settle.transfer_reversals r join transfers t on t.id = r.seller_transfer_id
  ),
  money (currency, delta) as (
    select currency, amount from transfers where status in ('completed', 'partially_reversed', 'reversed')
    union all
    select currency, -amount from reversals where status <> 'permanently_failed' or counting_debt
    union all
    select p.currency::text, -p.amount from settle.seller_payouts p
    where p.seller_id = p_seller_id and p.status not in ('failed', 'canceled')
  ),
  holds (currency, why) as (
    select currency, format('transfer %s is %s', id, status) from transfers
    where status in ('pending', 'failed') or (status = 'permanently_failed' and outcome_unknown)
    union all
    -- A reversal that gave up without a debt: whether its money moved is not known.
    select currency, format('reversal %s is %s', id, status) from reversals
    where status = 'pending' or (status = 'permanently_failed' and not any_debt)
  )
  select c.currency,
         coalesce((select sum(m.delta) from money m where m.currency = c.currency), 0)::bigint,
         (select string_agg(h.why, '; ' order by h.why) from holds h where h.currency = c.currency)
  from (select currency from money union select currency from holds) c
$$;

/*
 * A payout nets the seller's open debts in its currency, in its own transaction:
 * they were subtracted from what it could be, so the money stays withheld.
 * settle.reason names the payout in the audit trail, then is put back.
 */
create function settle_private.tg_seller_payouts__net_debts() returns trigger
language plpgsql
as $$
declare
  previous text := current_setting('settle.reason', true);
  why text := format('netted against payout %s', NEW.id);
begin
  perform set_config('settle.reason', why, true);
  update settle.seller_debts
  set status = 'settled', settled_by = 'netting', settled_payout_id = NEW.id, reason = why, settled_at = now()
  where seller_id = NEW.seller_id and currency = NEW.currency and status = 'open';
  perform set_config('settle.reason', coalesce(previous, ''), true);
  return null;
end;
$$;
create trigger _700_net_debts after insert on settle.seller_payouts
  for each row execute function settle_private.tg_seller_payouts__net_debts();

/* settleSellerDebt (admin): resolved outside Settle, with the reason audited. */
create function settle_api.settle_seller_debt(p_debt_id uuid, p_reason text) returns settle.seller_debts
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  d settle.seller_debts;
begin
  perform settle_private.require_caller('settle_admin');
  if p_reason is null or btrim(p_reason) = '' then
    perform settle_private.invalid('reason: say why the debt is settled (it is kept in the audit trail)');
  end if;
  if length(p_reason) > 500 then
    perform settle_private.invalid('reason: at most 500 characters');
  end if;
  select * into d from settle.seller_debts where id = p_debt_id for no key update;
  if not found then
    perform settle_private.invalid(format('debtId: no seller debt %s', p_debt_id));
  end if;
  if d.status <> 'open' then
    raise exception 'seller debt % is % (%): only an open debt can be settled', d.id, d.status, d.settled_by
      using errcode = 'ILTRN';
  end if;
  perform set_config('settle.reason', btrim(p_reason), true);
  update settle.seller_debts
  set status = 'settled', settled_by = 'admin', reason = btrim(p_reason), settled_at = now()
  where id = d.id
  returning * into d;
  return d;
end;
$$;
grant execute on function settle_api.settle_seller_debt(uuid, text) to settle_admin;

create view ops.seller_debts as
  select d.id, d.seller_id, s.name as seller_name, d.transfer_reversal_id, r.refund_id, d.amount, d.currency,
         d.created_at, now() - d.created_at as age
  from settle.seller_debts d
  join settle.sellers s on s.id = d.seller_id
  join settle.transfer_reversals r on r.id = d.transfer_reversal_id
  where d.status = 'open'
  order by d.created_at;
comment on view ops.seller_debts is E'Open seller debts (reversals refused for balance_insufficient), oldest first: netted against the seller''s next payout, or settled by an admin (settleSellerDebt).';
grant select on ops.seller_debts to settle_admin;
