/**
 * seller_payouts__create: sends one seller payout to Stripe (SPEC §5):
 * `payouts.create` on the seller's connected account, key = the row id.
 *
 * The row is taken FOR NO KEY UPDATE for the whole call, like the transfer job,
 * so two runs for one row never call Stripe together. The row stays `pending`
 * once sent: Stripe's payout is pending too, and its payout.* webhooks move it.
 * Outcomes (SPEC §1.2):
 *   made             -> external_payout_id stored
 *   retryable        -> retry_count + 1, next_retry_at by backoff (TRANSFER_RETRY_*)
 *   unknown          -> the same, marked outcome_unknown. Payouts are never looked
 *                       up, so they are never sent with a fresh key either: the
 *                       same key makes Stripe answer with what the first call did
 *   permanent        -> failed with Stripe's code and message (the amount is
 *                       available again)
 *   retries used up  -> failed if nothing can have been made; with an unknown
 *                       outcome, parked (next_retry_at = infinity, last_error says
 *                       why): the money stays withheld until a human looks at Stripe
 */
import type { Task } from "graphile-worker";
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { decideAfterPspFailure, pastKeyWindow } from "../flows/backoff.ts";
import { actAs, NO_SILENT_RERUN, takeStripeSlots } from "../flows/database-context.ts";
import { PspError } from "../psp/errors.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { RowBusy, safeAmount } from "./row-jobs.ts";

export const TASK = "seller_payouts__create";

const Payout = z.object({
  id: z.string(),
  seller_id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  retry_count: z.number(),
  next_retry_at: z.number().nullable(),
  outcome_unknown: z.boolean(),
  created_at: z.number(),
  stripe_account_id: z.string(),
});
type Payout = z.infer<typeof Payout>;

const Done = z.object({ id: z.string() });

/** Pending, not sent yet, and due (infinity = parked: never due). */
const UNSENT = sql.fragment`status = 'pending' and coalesce(external_payout_id, '') = ''`;

export function makeCreatePayout(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const now = deps.now ?? Date.now;
  const policy = deps.config.transferRetry;
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    const due = await deps.db.exists(sql.type(z.object({}))`
      select from settle.seller_payouts
      where id = ${id} and ${UNSENT}
        and coalesce(next_retry_at, '-infinity') <= to_timestamp(${(now() + 1_000) / 1000})`);
    if (!due) return;
    await takeStripeSlots(deps.db, deps.config.stripeMaxRequestsPerSecond);
    await deps.db.transaction(async (tx) => {
      await actAs(tx, TASK);
      const row = await tx.maybeOne(sql.type(Payout)`
        select p.id, p.seller_id, p.amount, p.currency, p.retry_count, p.next_retry_at,
               p.outcome_unknown, p.created_at, s.stripe_account_id
        from settle.seller_payouts p join settle.sellers s on s.id = p.seller_id
        where p.id = ${id} and p.status = 'pending' and coalesce(p.external_payout_id, '') = ''
        for no key update of p skip locked`);
      if (!row) {
        const waiting = await tx.exists(sql.type(z.object({}))`
          select from settle.seller_payouts where id = ${id} and ${UNSENT}`);
        if (waiting) throw new RowBusy(`seller payout ${id} is locked by another transaction`);
        return; // sent, or settled by a webhook that adopted it
      }
      if (row.next_retry_at !== null && row.next_retry_at > now() + 1_000) return;
      if (pastKeyWindow(row.created_at, now())) {
        // Never tried as far as the row knows (retry_count 0): a run that crashed
        // after its call may still have made it, and Stripe cannot find a payout by
        // our id, so it is parked for a look rather than sent under a stale key.
        const neverRecorded = row.retry_count === 0;
        await stop(
          tx,
          row,
          neverRecorded
            ? "not sent: Stripe's 24 h idempotency window is closing, and a run that crashed after its call would have left no trace"
            : "stopped retrying: Stripe's 24 h idempotency window is closing",
          row.outcome_unknown || neverRecorded,
        );
        return;
      }
      try {
        const externalId = await deps.stripe.createPayout(row.id, row.stripe_account_id, {
          amount: safeAmount(row.amount),
          currency: row.currency,
          metadata: { seller_payout_id: row.id, seller_id: row.seller_id },
        });
        await tx.query(sql.type(Done)`
          update settle.seller_payouts
          set external_payout_id = ${externalId}, outcome_unknown = false, next_retry_at = null, last_error = null
          where id = ${row.id} and ${UNSENT}
          returning id`);
      } catch (error) {
        if (!(error instanceof PspError)) throw error;
        const decision = decideAfterPspFailure(
          policy,
          row.retry_count,
          error,
          row.outcome_unknown,
          now(),
        );
        if (decision.giveUp) {
          // A refusal answers this very key: Stripe made nothing under it.
          const mayExist =
            error.kind !== "permanent" && (row.outcome_unknown || error.kind === "unknown");
          await stop(tx, row, decision.reason, mayExist);
          return;
        }
        log.warn(
          { payoutId: row.id, error: decision.reason, retryCount: decision.retryCount },
          "payout will be retried",
        );
        await tx.query(sql.type(Done)`
          update settle.seller_payouts
          set retry_count = ${decision.retryCount}, next_retry_at = to_timestamp(${decision.nextRetryAt / 1000}),
              outcome_unknown = ${decision.outcomeUnknown}, last_error = ${decision.reason}
          where id = ${row.id} and ${UNSENT}
          returning id`);
      }
    }, NO_SILENT_RERUN);
  };

  /** No more automatic calls: failed if Stripe cannot have made it, else parked. */
  async function stop(
    tx: DatabaseTransactionConnection,
    row: Payout,
    reason: string,
    mayExist: boolean,
  ) {
    if (mayExist) {
      log.error({ payoutId: row.id, reason }, "payout parked: its outcome at Stripe is unknown");
      await tx.query(sql.type(Done)`
        update settle.seller_payouts
        set next_retry_at = 'infinity',
            last_error = ${`outcome unknown, needs a look at Stripe (payouts of the seller's account, metadata seller_payout_id): ${reason}`}
        where id = ${row.id} and ${UNSENT}
        returning id`);
      return;
    }
    log.error({ payoutId: row.id, reason }, "payout failed");
    await tx.query(sql.type(Done)`
      update settle.seller_payouts
      set status = 'failed', next_retry_at = null, last_error = ${reason}
      where id = ${row.id} and ${UNSENT}
      returning id`);
  }
}
