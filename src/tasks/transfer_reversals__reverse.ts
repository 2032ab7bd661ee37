/**
 * transfer_reversals__reverse: takes (part of) a seller transfer back at Stripe
 * (SPEC §5, reversal job). The row is held FOR NO KEY UPDATE for the call, like the
 * transfer job. Paths:
 *   transfer not made yet, but it may   -> waits (next_retry_at after the transfer's
 *   be (pending / failed: an unknown      next attempt), no retry spent, Stripe not
 *   outcome its job still resolves)       called (a refund applied meanwhile made us)
 *   transfer without a Stripe id       -> permanently_failed, Stripe not called
 *   reversed                           -> reversed + stripe_reversal_id (the
 *                                         transfer follows: partially_/reversed)
 *   already reversed (Stripe has no    -> the transfer is retrieved; our reversal
 *   code for it: AlreadyReversed)         found by metadata is adopted, else
 *                                         permanently_failed, explained
 *   transfer not found (404)           -> permanently_failed
 *   balance_insufficient               -> permanently_failed, last_error starting
 *                                         `balance_insufficient:`: a seller debt
 *   retryable / unknown                -> pending -> pending, REVERSAL_* backoff;
 *                                         unknown: look up before the next call
 *   retries used up                    -> permanently_failed (an admin may retry)
 * Jobs carry the flag `reversals`; REVERSAL_WORKER_ENABLED=false forbids it.
 */
import type { Task } from "graphile-worker";
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { decideAfterPspFailure, pastKeyWindow } from "../flows/backoff.ts";
import {
  actAsColumn,
  callsOfKeyedRun,
  keyFor,
  NO_SILENT_RERUN,
  stripeSlotAt,
  stripeSlotsColumn,
  untilStripeSlot,
} from "../flows/database-context.ts";
import { PspError } from "../psp/errors.ts";
import { AlreadyReversed, InsufficientBalance } from "../psp/stripe/errors.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { adoptOrMake, type CallAttempt, RowBusy, safeAmount } from "./row-jobs.ts";

export const TASK = "transfer_reversals__reverse";
export const REVERSALS_FLAG = "reversals";

const Reversal = z.object({
  id: z.string(),
  refund_id: z.string().nullable(),
  amount: z.bigint(),
  status: z.string(),
  retry_count: z.number(),
  next_retry_at: z.number().nullable(),
  key_attempt: z.number(),
  outcome_unknown: z.boolean(),
  created_at: z.number(),
  stripe_transfer_id: z.string().nullable(),
  transfer_id: z.string(),
  transfer_status: z.string(),
  transfer_next_retry_at: z.number().nullable(),
});
type Reversal = z.infer<typeof Reversal>;

const Done = z.object({ id: z.string() });
/** A transfer in these statuses may still be made at Stripe (SPEC §4: pending, failed = retrying). */
const IN_FLIGHT = new Set(["pending", "failed"]);
const Due = z.object({ wait: z.number() });

export function makeReverseTransfer(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const now = deps.now ?? Date.now;
  const policy = deps.config.reversal;
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    // Stripe calls this run will make (a look-up first after an unknown outcome),
    // reserved in the shared budget before the row is locked, with the check
    // that the row is due; the run sleeps until the slot once the row is locked.
    const due = await deps.db.maybeOne(sql.type(Due)`
      select ${stripeSlotsColumn(deps.config.stripeMaxRequestsPerSecond, callsOfKeyedRun(now()))} from settle.transfer_reversals
      where id = ${id} and status in ('pending') and coalesce(next_retry_at, '-infinity') <= to_timestamp(${(now() + 1_000) / 1000})`);
    if (!due) return;
    const slotAt = stripeSlotAt(due.wait);
    await deps.db.transaction(async (tx) => {
      const row = await tx.maybeOne(sql.type(Reversal)`
        select ${actAsColumn(TASK)}, r.id, r.refund_id, r.amount, r.status, r.retry_count, r.next_retry_at, r.key_attempt,
               r.outcome_unknown, r.created_at, t.stripe_transfer_id,
               t.id as transfer_id, t.status as transfer_status, t.next_retry_at as transfer_next_retry_at
        from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id
        where r.id = ${id}
        for no key update of r skip locked`);
      if (!row) {
        const exists = await tx.exists(sql.type(z.object({}))`
          select from settle.transfer_reversals where id = ${id} and status = 'pending'`);
        if (exists) throw new RowBusy(`transfer reversal ${id} is locked by another transaction`);
        return;
      }
      if (row.status !== "pending") return;
      if (row.next_retry_at !== null && row.next_retry_at > now() + 1_000) return;
      if (!row.stripe_transfer_id && IN_FLIGHT.has(row.transfer_status)) {
        // The transfer may still be made (its call had an unknown outcome that its
        // job has not resolved yet): wait for it, without spending a retry.
        const at = Math.max(row.transfer_next_retry_at ?? 0, now()) + policy.backoffBaseMs;
        log.info(
          { reversalId: row.id, transferId: row.transfer_id, transferStatus: row.transfer_status },
          "reversal waits for its transfer to be made",
        );
        await tx.query(sql.type(Done)`
          update settle.transfer_reversals
          set next_retry_at = to_timestamp(${at / 1000}),
              last_error = ${`waiting for its transfer ${row.transfer_id} (${row.transfer_status}) to be made or given up`}
          where id = ${row.id} and status = 'pending'
          returning id`);
        return;
      }
      if (!row.stripe_transfer_id) {
        await giveUp(
          tx,
          row,
          "the transfer has no Stripe id (never made, or a legacy row not backfilled): nothing to reverse at Stripe",
        );
        return;
      }
      if (row.retry_count > 0 && pastKeyWindow(row.created_at, now())) {
        await giveUp(
          tx,
          row,
          "stopped retrying: Stripe's 24 h idempotency window is closing; an admin may retry",
        );
        return;
      }
      const transferId = row.stripe_transfer_id;
      const ours = { transfer_reversal_id: row.id };
      const attempt: CallAttempt = {
        keyAttempt: row.key_attempt,
        mayExist: row.outcome_unknown || pastKeyWindow(row.created_at, now()),
      };
      await untilStripeSlot(slotAt);
      try {
        const made = await adoptOrMake(
          attempt,
          () => deps.stripe.findReversal(transferId, ours),
          (keyAttempt) =>
            deps.stripe.reverseTransfer(
              keyFor(row.id, keyAttempt),
              transferId,
              safeAmount(row.amount),
              { ...ours, ...(row.refund_id ? { refund_id: row.refund_id } : {}) },
            ),
        );
        if (made.adopted) {
          log.info(
            { reversalId: row.id, stripeReversalId: made.pspId },
            "adopted the reversal of an unknown outcome",
          );
        }
        await reversed(tx, row.id, made.pspId, attempt.keyAttempt);
      } catch (error) {
        if (!(error instanceof PspError)) throw error;
        if (error instanceof AlreadyReversed) {
          const match = error.matchingReversal(ours);
          if (match) {
            log.warn(
              { reversalId: row.id, stripeReversalId: match.id },
              "transfer already reversed by our earlier call: adopted",
            );
            await reversed(tx, row.id, match.id, attempt.keyAttempt);
          } else {
            await giveUp(
              tx,
              row,
              `the transfer ${transferId} has no room left (reversed ${error.transfer.amount_reversed} of ${error.transfer.amount}) and no reversal of it is ours: ${error.message}`,
              attempt.keyAttempt,
            );
          }
          return;
        }
        if (error instanceof InsufficientBalance) {
          // The seller's balance cannot cover it: the amount becomes a seller debt,
          // netted against its next payouts (ops.seller_debts reads this prefix).
          await giveUp(tx, row, `balance_insufficient: ${error.summary()}`, attempt.keyAttempt);
          return;
        }
        const decision = decideAfterPspFailure(
          policy,
          row.retry_count,
          error,
          attempt.mayExist,
          now(),
        );
        if (decision.giveUp) {
          // Whether Stripe may have made it stays on the row, for whoever retries it.
          await giveUp(
            tx,
            row,
            decision.reason,
            attempt.keyAttempt,
            attempt.mayExist || error.kind === "unknown",
          );
          return;
        }
        log.warn(
          { reversalId: row.id, error: decision.reason, retryCount: decision.retryCount },
          "reversal will be retried",
        );
        await tx.query(sql.type(Done)`
          update settle.transfer_reversals
          set status = 'pending', retry_count = ${decision.retryCount},
              next_retry_at = to_timestamp(${decision.nextRetryAt / 1000}),
              outcome_unknown = ${decision.outcomeUnknown}, key_attempt = ${attempt.keyAttempt},
              last_error = ${decision.reason}
          where id = ${row.id} and status = 'pending'
          returning id`);
      }
    }, NO_SILENT_RERUN);
  };

  async function reversed(
    tx: DatabaseTransactionConnection,
    id: string,
    stripeReversalId: string,
    keyAttempt: number,
  ) {
    await tx.query(sql.type(Done)`
      update settle.transfer_reversals
      set status = 'reversed', stripe_reversal_id = ${stripeReversalId}, key_attempt = ${keyAttempt},
          outcome_unknown = false, next_retry_at = null, last_error = null
      where id = ${id} and status = 'pending'
      returning id`);
  }

  async function giveUp(
    tx: DatabaseTransactionConnection,
    row: Reversal,
    reason: string,
    keyAttempt = row.key_attempt,
    outcomeUnknown = row.outcome_unknown,
  ) {
    log.error({ reversalId: row.id, reason, outcomeUnknown }, "reversal permanently failed");
    await tx.query(sql.type(Done)`
      update settle.transfer_reversals
      set status = 'permanently_failed', key_attempt = ${keyAttempt}, next_retry_at = null, last_error = ${reason},
          outcome_unknown = ${outcomeUnknown}
      where id = ${row.id} and status = 'pending'
      returning id`);
  }
}
