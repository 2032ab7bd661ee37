--! Previous: sha1:6327705dcf1c8cfe7f698b2eaab7a16b8b97b5bf
--! Hash: sha1:7a265da672be0034dd667f18f94e035318ded1fe
--! Message: sweep payouts

/*
 * The periodic sweeper re-drives payouts too (SPEC §1.5: the row, not the job, is
 * the source of truth). 000028 left a payout whose job was lost (a crashed worker,
 * a job that used up its attempts) to the daily payout run, so it could wait a day
 * to be sent; every SWEEP_INTERVAL it now gets its job back, like a transfer or a
 * reversal. settle_private.sweep_payouts (000028) is the query: a payout pending
 * and not sent yet (no external_payout_id, retries and unknown outcomes included),
 * due (parked ones, next_retry_at = infinity, never are), with no waiting job.
 * Once sent, a payout moves by Stripe's payout.* webhooks, which the sweep
 * re-drives as webhook events.
 *
 * As in 000031, the sweep as it stands is kept whole under another name and
 * called first, so this composes with it (and with sweep_before_subscriptions,
 * which it calls in turn) instead of copying it.
 */
alter function settle_private.sweep(interval) rename to sweep_before_payouts;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
begin
  return query select s.kind, s.requeued from settle_private.sweep_before_payouts(p_grace) s;
  kind := 'seller_payouts'; requeued := settle_private.sweep_payouts(p_grace); return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
