--! Previous: sha1:2215adc8e57fed0c8c709fcee238536fc813ef8d
--! Hash: sha1:a1d1fdb994d5b0224a382a2ebf4e01529cd73018
--! Message: rate limit unlogged

/*
 * The shared Stripe budget (000022) takes one slot per PSP call, each in its own
 * short transaction that updates the one budget row. As a logged table, every
 * slot waited for its WAL flush while holding the row lock, so the callers of the
 * whole fleet queued behind one another's fsync (npm run bench: take_rate_slot
 * waiting on Lock:transactionid and IO:WalSync, reversal jobs draining at a
 * fraction of the no-op job rate). The budget is a moment's bookkeeping, not a
 * record: unlogged, a slot costs no WAL and no flush. After a crash the table
 * is empty and the next caller starts a fresh budget at now, which is what a
 * restarted fleet should have anyway.
 */
alter table settle_private.rate_limits set unlogged;
