--! Previous: sha1:13d0752bf1c4d1b5e1c32047a5d091076d2d9052
--! Hash: sha1:2215adc8e57fed0c8c709fcee238536fc813ef8d
--! Message: payment cancellations

/*
 * cancelOrder on a payment_pending order cancelled it here only: the payment at
 * Hyperswitch stayed open, and a buyer who went on to finish checkout was charged
 * for an order we had cancelled. Now cancelling such an order (by the API or by
 * plain SQL: this is a trigger on the order) records one payment_cancellations row,
 * committed with the cancel and before the call (SPEC §1.1), whose job sends
 * Hyperswitch `POST /payments/{payment_id}/cancel` (Idempotency-Key = the row id).
 *
 *   pending     the call is still to be made (its job, re-driven by the sweeper)
 *   cancelled   Hyperswitch cancelled the payment, or it was found cancelled
 *   not_needed  nothing could be charged: no such payment, or it had failed/expired
 *   failed      Hyperswitch refused (IR_16): the payment succeeded or is being
 *               processed, so the buyer may be charged for a cancelled order. For a
 *               human (last_error says what was found; the payment's own webhook is
 *               kept as a conflict on the order).
 *
 * A cancel has no merchant-chosen id, but it is idempotent in effect: a replay finds
 * the payment cancelled (IR_16, then GET), so a lost answer is simply retried.
 * Its statuses are not SPEC §4's (settle_private.allowed_transitions is that
 * contract exactly), so, like seller_debts (000029), a small trigger guards them and
 * the shared audit records them.
 */
create table settle.payment_cancellations (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null references settle.orders (id) on delete restrict,
  payment_id text not null constraint payment_cancellations_payment_id_nonempty check (payment_id <> ''),
  status text not null default 'pending'
    constraint payment_cancellations_status_valid check (status in ('pending', 'cancelled', 'not_needed', 'failed')),
  attempts integer not null default 0 constraint payment_cancellations_attempts_nonnegative check (attempts >= 0),
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.payment_cancellations is E'One Hyperswitch POST /payments/{id}/cancel per order cancelled while payment_pending, recorded before the call; its job makes the call.';
comment on column settle.payment_cancellations.payment_id is E'The Hyperswitch payment to cancel: the order''s psp_payment_id, else the order id (the payment_id confirmOrder sends).';
create unique index payment_cancellations_order_key on settle.payment_cancellations (order_id);
create index payment_cancellations_pending_idx on settle.payment_cancellations (updated_at) where status = 'pending';
create trigger _100_touch_updated_at before update on settle.payment_cancellations
  for each row execute function settle_private.tg__touch_updated_at();

create function settle_private.tg_payment_cancellations__status_transition() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'INSERT' and NEW.status <> 'pending' then
    raise exception 'payment_cancellations % cannot be created in status %: new rows start in pending', NEW.id, NEW.status
      using errcode = 'INITS';
  end if;
  if tg_op = 'UPDATE' and not (OLD.status = 'pending' and NEW.status in ('cancelled', 'not_needed', 'failed')) then
    raise exception 'illegal transition of payment_cancellations %: % -> %', OLD.id, OLD.status, NEW.status
      using errcode = 'ILTRN', hint = case when OLD.status = 'pending'
                                           then 'from pending the allowed statuses are: cancelled, not_needed, failed'
                                           else OLD.status || ' is final' end;
  end if;
  return NEW;
end;
$$;
create trigger _100_status_transition before insert or update of status on settle.payment_cancellations
  for each row execute function settle_private.tg_payment_cancellations__status_transition();
create trigger _900_audit_transition after insert or update of status on settle.payment_cancellations
  for each row execute function settle_private.tg__audit_transition();
create trigger _200_guard_columns before update or delete on settle.payment_cancellations
  for each row execute function settle_private.tg__guard_columns('pending', 'order_id,payment_id', '');

alter table settle.payment_cancellations enable row level security;
grant select on settle.payment_cancellations to settle_platform, settle_admin;
create policy staff_select on settle.payment_cancellations for select to settle_platform, settle_admin using (true);

/* The cancel of a payment_pending order records its call, in the cancel's transaction. */
create function settle_private.tg_orders__record_payment_cancellation() returns trigger
language plpgsql
as $$
begin
  insert into settle.payment_cancellations (order_id, payment_id)
  values (NEW.id, coalesce(nullif(NEW.psp_payment_id, ''), NEW.id::text))
  on conflict (order_id) do nothing;
  return null;
end;
$$;
create trigger _700_record_payment_cancellation after update of status on settle.orders
  for each row
  when (OLD.status = 'payment_pending' and NEW.status = 'cancelled')
  execute function settle_private.tg_orders__record_payment_cancellation();

create function settle_private.tg_payment_cancellations__enqueue() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'pending' then
    perform settle_private.enqueue('payment_cancellations__send', json_build_object('id', NEW.id), now(),
      'payment_cancellations:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _600_enqueue after insert on settle.payment_cancellations
  for each row execute function settle_private.tg_payment_cancellations__enqueue();

/* The sweep as it stands, then cancellations whose job was lost (as 000031 composes). */
alter function settle_private.sweep(interval) rename to sweep_before_payment_cancellations;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
declare
  n integer := 0;
  r record;
begin
  return query select s.kind, s.requeued from settle_private.sweep_before_payment_cancellations(p_grace) s;

  for r in select id from settle.payment_cancellations where status = 'pending' and updated_at < now() - p_grace loop
    if not settle_private.has_waiting_job('payment_cancellations:' || r.id) then
      perform settle_private.enqueue('payment_cancellations__send', json_build_object('id', r.id), now(),
        'payment_cancellations:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'payment_cancellations'; requeued := n; return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
