--! Previous: sha1:ffe2bee73eb79b76f5aa769c390a566918542c90
--! Hash: sha1:29820fe79e155a29ca7931b8fd7d610fa26bcdac
--! Message: sweeper re-drives payouts

/*
 * Payouts not sent yet whose job was lost get a new one from the periodic sweeper
 * too, not only from the daily payout run. Found by `npm run chaos`: a worker
 * killed while it held a payout's job left the row pending with its job locked
 * for graphile-worker's 4 hours, and settle_private.sweep (000025, 000031) did not
 * look at payouts; the daily run's settle_private.sweep_payouts (000028, with an
 * hour's grace) would have found it next morning at the earliest.
 *
 * The sweep as 000031 left it is kept whole under another name and called first
 * (the same composition as 000031's), then settle_private.sweep_payouts runs with
 * the sweeper's own grace. A parked payout (next_retry_at = infinity, its outcome
 * unknown past Stripe's idempotency window) is never due, so it stays parked.
 */
alter function settle_private.sweep(interval) rename to sweep_before_payouts;

create function settle_private.sweep(p_grace interval)
returns table (kind text, requeued integer)
language plpgsql
as $$
begin
  return query select s.kind, s.requeued from settle_private.sweep_before_payouts(p_grace) s;
  kind := 'seller_payouts';
  requeued := settle_private.sweep_payouts(p_grace);
  return next;
end;
$$;
comment on function settle_private.sweep(interval) is E'Re-enqueues the rows that should be moving but have no waiting job; returns how many per kind.';
