/**
 * seller_transfers__create: makes one seller transfer at Stripe (SPEC §5).
 *
 * The row is taken FOR NO KEY UPDATE for the whole call, so a refund that wants to
 * shrink a transfer waits until we know whether it was made; a second run for the
 * same row (a sweeper duplicate) finds it locked and is retried shortly.
 * Outcomes (SPEC §1.2):
 *   made            -> completed + stripe_transfer_id
 *   retryable       -> failed, retry_count + 1, next_retry_at by backoff, same key
 *   unknown         -> the same, marked outcome_unknown: the next run looks the
 *                      transfer up (transfer_group + metadata) and adopts it, and
 *                      only if it is not there retries with a fresh key <id>:<n>
 *   permanent       -> permanently_failed with Stripe's code and message
 *   retries used up -> permanently_failed (an admin may retry)
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
import { RowPayload, type TaskDeps } from "./deps.ts";
import { adoptOrMake, type CallAttempt, RowBusy, safeAmount } from "./row-jobs.ts";

export const TASK = "seller_transfers__create";

const Transfer = z.object({
  id: z.string(),
  order_id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  status: z.string(),
  retry_count: z.number(),
  next_retry_at: z.number().nullable(),
  key_attempt: z.number(),
  outcome_unknown: z.boolean(),
  created_at: z.number(),
  stripe_account_id: z.string(),
});
type Transfer = z.infer<typeof Transfer>;

const Done = z.object({ id: z.string() });
const Due = z.object({ wait: z.number() });

export function makeCreateTransfer(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const now = deps.now ?? Date.now;
  const policy = deps.config.transferRetry;
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    // Stripe calls this run will make (a look-up first after an unknown outcome),
    // reserved in the shared budget before the row is locked, with the check
    // that the row is due; the run sleeps until the slot once the row is locked.
    const due = await deps.db.maybeOne(sql.type(Due)`
      select ${stripeSlotsColumn(deps.config.stripeMaxRequestsPerSecond, callsOfKeyedRun(now()))} from settle.seller_transfers
      where id = ${id} and status in ('pending', 'failed') and coalesce(next_retry_at, '-infinity') <= to_timestamp(${(now() + 1_000) / 1000})`);
    if (!due) return;
    const slotAt = stripeSlotAt(due.wait);
    await deps.db.transaction(async (tx) => {
      const row = await tx.maybeOne(sql.type(Transfer)`
        select ${actAsColumn(TASK)}, t.id, t.order_id, t.amount, t.currency, t.status, t.retry_count, t.next_retry_at,
               t.key_attempt, t.outcome_unknown, t.created_at, s.stripe_account_id
        from settle.seller_transfers t join settle.sellers s on s.id = t.seller_id
        where t.id = ${id}
        for no key update of t skip locked`);
      if (!row) {
        const exists = await tx.exists(sql.type(z.object({}))`
          select from settle.seller_transfers where id = ${id} and status in ('pending', 'failed')`);
        // Held by another transaction (a run in flight, a refund shrinking it):
        // fail this run so graphile-worker retries it in a few seconds.
        if (exists) throw new RowBusy(`seller transfer ${id} is locked by another transaction`);
        return;
      }
      if (row.status !== "pending" && row.status !== "failed") return; // done by someone else
      if (row.next_retry_at !== null && row.next_retry_at > now() + 1_000) return; // its own job waits for then
      if (row.retry_count > 0 && pastKeyWindow(row.created_at, now())) {
        await giveUp(
          tx,
          row,
          "stopped retrying: Stripe's 24 h idempotency window is closing; an admin may retry",
        );
        return;
      }

      // mayExist stays true until a look-up has shown the earlier call made nothing.
      const attempt: CallAttempt = {
        keyAttempt: row.key_attempt,
        mayExist: row.outcome_unknown || pastKeyWindow(row.created_at, now()),
      };
      await untilStripeSlot(slotAt);
      try {
        const made = await adoptOrMake(
          attempt,
          () => deps.stripe.findTransfer(row.order_id, { seller_transfer_id: row.id }),
          (keyAttempt) =>
            deps.stripe.createTransfer(keyFor(row.id, keyAttempt), {
              amount: safeAmount(row.amount),
              currency: row.currency,
              destination: row.stripe_account_id,
              transferGroup: row.order_id,
              metadata: { order_id: row.order_id, seller_transfer_id: row.id },
            }),
        );
        if (made.adopted) {
          log.info(
            { transferId: row.id, stripeTransferId: made.pspId },
            "adopted the transfer of an unknown outcome",
          );
        }
        await complete(tx, row.id, made.pspId, attempt.keyAttempt);
      } catch (error) {
        if (!(error instanceof PspError)) throw error;
        const decision = decideAfterPspFailure(
          policy,
          row.retry_count,
          error,
          attempt.mayExist,
          now(),
        );
        if (decision.giveUp) {
          // Whether Stripe may have made it stays on the row: a refund then reverses
          // it instead of cancelling it, and the seller is held until it is known.
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
          { transferId: row.id, error: decision.reason, retryCount: decision.retryCount },
          "transfer will be retried",
        );
        await tx.query(sql.type(Done)`
          update settle.seller_transfers
          set status = 'failed', retry_count = ${decision.retryCount},
              next_retry_at = to_timestamp(${decision.nextRetryAt / 1000}),
              outcome_unknown = ${decision.outcomeUnknown}, key_attempt = ${attempt.keyAttempt},
              last_error = ${decision.reason}
          where id = ${row.id} and status in ('pending', 'failed')
          returning id`);
      }
    }, NO_SILENT_RERUN);
  };

  async function complete(
    tx: DatabaseTransactionConnection,
    id: string,
    stripeTransferId: string,
    keyAttempt: number,
  ) {
    await tx.query(sql.type(Done)`
      update settle.seller_transfers
      set status = 'completed', stripe_transfer_id = ${stripeTransferId}, key_attempt = ${keyAttempt},
          outcome_unknown = false, next_retry_at = null, last_error = null
      where id = ${id} and status in ('pending', 'failed')
      returning id`);
  }

  async function giveUp(
    tx: DatabaseTransactionConnection,
    row: Transfer,
    reason: string,
    keyAttempt = row.key_attempt,
    outcomeUnknown = row.outcome_unknown,
  ) {
    log.error({ transferId: row.id, reason, outcomeUnknown }, "transfer permanently failed");
    await tx.query(sql.type(Done)`
      update settle.seller_transfers
      set status = 'permanently_failed', key_attempt = ${keyAttempt}, next_retry_at = null, last_error = ${reason},
          outcome_unknown = ${outcomeUnknown}
      where id = ${row.id} and status in ('pending', 'failed')
      returning id`);
  }
}
