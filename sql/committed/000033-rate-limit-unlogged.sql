--! Previous: sha1:ffe2bee73eb79b76f5aa769c390a566918542c90
--! Hash: sha1:0a6739c1767d2d0b74e47e9a767f8d48713ee5b0
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
