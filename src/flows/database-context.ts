/**
 * Small shared steps of the flows' transactions.
 */
import type { DatabaseTransactionConnection, FragmentSqlToken } from "slonik";
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { AUTOMATIC_RETRY_WINDOW_MS } from "./backoff.ts";

/** Names the worker task in the audit trail (settle.state_transitions.actor = task:<name>). */
export async function actAs(tx: DatabaseTransactionConnection, task: string): Promise<void> {
  await tx.query(
    sql.type(z.object({}))`select set_config('settle.actor', ${`task:${task}`}, true) as _`,
  );
}

/**
 * The same as actAs, as a column of the statement that reads the job's row, so
 * that naming the actor costs no round trip of its own.
 */
export const actAsColumn = (task: string): FragmentSqlToken =>
  sql.fragment`set_config('settle.actor', ${`task:${task}`}, true) as _actor`;

/**
 * The share of STRIPE_MAX_REQUESTS_PER_SECOND the budget paces at. Requests
 * leave a little later than their slots (a busy event loop, a slow round trip)
 * and then arrive bunched; paced at exactly the limit, the PSP's bucket never
 * refills what a bunch took, so bunches add up to 429s over a long backlog
 * (npm run bench: 3 × 429 of 500 at 50/s, bucket 5). 3 % under it refills 1.5
 * tokens a second at 50/s, and the achieved rate stays at 97 % of the limit.
 */
export const STRIPE_PACING = 0.97;

/**
 * A column that reserves `calls` requests in the fleet-wide Stripe budget and
 * gives the seconds to wait before the last of them may go out: for the query
 * that checks a job's row is due, so that checking and reserving take one round
 * trip (every round trip is paid by every job). `calls` may read the row.
 */
export const stripeSlotsColumn = (perSecond: number, calls: FragmentSqlToken): FragmentSqlToken =>
  sql.fragment`(select max(settle_private.take_rate_slot('stripe', ${perSecond * STRIPE_PACING}))
                from generate_series(1, ${calls})) as wait`;

/**
 * The Stripe calls a transfer or reversal run will make: one, or two when it looks
 * its object up first (an unknown outcome, or a row past the key window that a
 * crashed run may have sent; see pastKeyWindow). `now` is the task's clock.
 */
export const callsOfKeyedRun = (now: number): FragmentSqlToken =>
  sql.fragment`case when outcome_unknown or created_at < to_timestamp(${(now - AUTOMATIC_RETRY_WINDOW_MS) / 1000}) then 2 else 1 end`;

/** Sleeps the wait a stripeSlotsColumn gave. */
export async function waitForStripeSlots(seconds: number): Promise<void> {
  if (seconds > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(seconds * 1000)));
}

/** When the request whose slot a stripeSlotsColumn just reserved may go out (Date.now() scale). */
export const stripeSlotAt = (waitSeconds: number): number =>
  Date.now() + Math.ceil(waitSeconds * 1000);

/**
 * Sleeps until a slot's time, just before the request: the round trips between
 * reserving the slot and sending (opening the transaction, locking the row)
 * vary, and waiting before them let that variance through as bunched requests.
 */
export async function untilStripeSlot(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for this process's turn in the fleet-wide Stripe budget
 * (STRIPE_MAX_REQUESTS_PER_SECOND), for `calls` requests. Taken on the pool before
 * the caller's transaction opens: the budget row must not stay locked while a call
 * runs (and slonik refuses pool queries inside a transaction anyway).
 */
export async function takeStripeSlots(
  db: DatabasePool,
  perSecond: number,
  calls = 1,
): Promise<void> {
  let wait = 0;
  for (let i = 0; i < calls; i++) {
    wait = await db.oneFirst(
      sql.type(z.object({ wait: z.number() }))`
        select settle_private.take_rate_slot('stripe', ${perSecond * STRIPE_PACING}) as wait`,
    );
  }
  await waitForStripeSlots(wait);
}

/** The idempotency key of a row's next call: its id, or `<id>:<n>` after n fresh keys. */
export const keyFor = (id: string, keyAttempt: number) =>
  keyAttempt === 0 ? id : `${id}:${keyAttempt}`;

/**
 * The retry limit for transactions that contain a PSP call. slonik re-runs a
 * transaction that fails with a deadlock or serialization error; with a Stripe
 * call inside, a re-run would repeat it behind our back. Fail instead: the job is
 * retried by graphile-worker, visibly, with the same key.
 */
export const NO_SILENT_RERUN = 0;
