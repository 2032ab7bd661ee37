--! Previous: sha1:7a265da672be0034dd667f18f94e035318ded1fe
--! Hash: sha1:13d0752bf1c4d1b5e1c32047a5d091076d2d9052
--! Message: invoice payment look-ups

/*
 * A subscription charge that Hyperswitch accepted but has not settled waits for
 * its payment_succeeded / payment_failed webhook (000030: pending with
 * attempt_count > 0). A webhook that never comes (lost, never sent, an endpoint
 * down longer than Hyperswitch retries) left the invoice pending for good: the
 * subscription neither started nor ended, and dunning never ran. Now each such
 * attempt has a look-up time; by then, if no webhook settled it, the
 * subscription_invoices__look_up job GETs the payment at Hyperswitch and applies
 * what it finds through the webhook path's own functions
 * (apply_invoice_payment_succeeded / _failed), so the subscription moves on
 * exactly as if the webhook had come. A payment still open is looked up again
 * later (the job moves look_up_at, whose trigger enqueues it).
 *
 * The job is enqueued by trigger with the state it acts on (000021), keyed by the
 * row under its own key (the charge job has the row's plain key), and the sweeper
 * re-drives an attempt past its look-up time whose job was lost. Attempts recorded
 * before this migration have no look-up time: the sweep takes their last change
 * instead, so they are looked up at the next sweep.
 */
alter table settle.subscription_invoices add column look_up_at timestamptz;
comment on column settle.subscription_invoices.look_up_at is E'For a pending invoice whose attempt was sent (attempt_count > 0): when the attempt''s payment is looked up at Hyperswitch if no webhook has settled it by then (INVOICE_PAYMENT_LOOKUP_AFTER).';

create index subscription_invoices_awaiting_idx on settle.subscription_invoices ((coalesce(look_up_at, updated_at)))
  where status = 'pending' and attempt_count > 0;

/* The charge job's call was answered: attempt k recorded (000030), and when to look it up. */
create function settle_private.invoice_charge_sent(p_invoice_id uuid, p_attempt integer, p_look_up_at timestamptz)
returns void
language plpgsql
as $$
begin
  perform settle_private.invoice_charge_sent(p_invoice_id, p_attempt);
  update settle.subscription_invoices set look_up_at = p_look_up_at
  where id = p_invoice_id and status = 'pending' and attempt_count = p_attempt + 1
    and look_up_at is distinct from p_look_up_at;
end;
$$;

create function settle_private.tg_subscription_invoices__enqueue_look_up() returns trigger
language plpgsql
as $$
begin
  if NEW.status = 'pending' and NEW.attempt_count > 0 and NEW.look_up_at is not null then
    perform settle_private.enqueue(
      'subscription_invoices__look_up', json_build_object('id', NEW.id),
      NEW.look_up_at, 'subscription_invoices__look_up:' || NEW.id);
  end if;
  return null;
end;
$$;
create trigger _601_enqueue_look_up after update of look_up_at on settle.subscription_invoices
  for each row execute function settle_private.tg_subscription_invoices__enqueue_look_up();

/* The sweep as it stands, then the attempts past their look-up time without a job (as 000031 composes). */
alter function settle_private.sweep(interval) rename to sweep_before_invoice_look_ups;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
declare
  n integer := 0;
  r record;
begin
  return query select s.kind, s.requeued from settle_private.sweep_before_invoice_look_ups(p_grace) s;

  for r in
    select id from settle.subscription_invoices
    where status = 'pending' and attempt_count > 0
      and coalesce(look_up_at, updated_at) < now() - p_grace
  loop
    if not settle_private.has_waiting_job('subscription_invoices__look_up:' || r.id) then
      perform settle_private.enqueue('subscription_invoices__look_up', json_build_object('id', r.id), now(),
        'subscription_invoices__look_up:' || r.id);
      n := n + 1;
    end if;
  end loop;
  kind := 'subscription_invoice_look_ups'; requeued := n; return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
