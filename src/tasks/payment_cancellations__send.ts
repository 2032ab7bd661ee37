/**
 * payment_cancellations__send: the Hyperswitch cancel of an order cancelled while
 * payment_pending (000036): `POST /payments/{payment_id}/cancel` with
 * Idempotency-Key = the row id, enqueued with the row and re-driven by the sweeper.
 *   answered cancelled         -> cancelled
 *   refused (IR_16, any 4xx)   -> GET the payment and record where it stands:
 *                                 cancelled (a replay of ours, or cancelled
 *                                 elsewhere) -> cancelled; failed/expired ->
 *                                 not_needed; succeeded, processing… -> failed,
 *                                 loud: the buyer may pay for a cancelled order
 *   404, no such payment       -> not_needed (the order never reached Hyperswitch)
 *   retryable / unknown        -> nothing recorded but the attempt; the job fails
 *                                 and graphile-worker retries it (a cancel that did
 *                                 run is found cancelled on the retry)
 * The row is held FOR NO KEY UPDATE through the call, so two runs never race.
 */
import type { Task } from "graphile-worker";
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAs, NO_SILENT_RERUN } from "../flows/database-context.ts";
import { PspError } from "../psp/errors.ts";
import type { Payment } from "../psp/hyperswitch/types.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { RowBusy } from "./row-jobs.ts";

export const TASK = "payment_cancellations__send";

const Cancellation = z.object({ id: z.string(), order_id: z.string(), payment_id: z.string() });
const Done = z.object({ id: z.string() });

type Final = { status: "cancelled" | "not_needed" | "failed"; note: string | null };

/** Nothing can be charged any more from these. */
const DEAD = new Set<Payment["status"]>(["failed", "expired"]);

export function makeSendPaymentCancellation(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    try {
      await deps.db.transaction(async (tx) => {
        await actAs(tx, TASK);
        const row = await tx.maybeOne(sql.type(Cancellation)`
          select id, order_id, payment_id from settle.payment_cancellations
          where id = ${id} and status = 'pending'
          for no key update skip locked`);
        if (!row) {
          const waiting = await tx.exists(sql.type(z.object({}))`
            select from settle.payment_cancellations where id = ${id} and status = 'pending'`);
          if (waiting)
            throw new RowBusy(`payment cancellation ${id} is locked by another transaction`);
          return; // done already
        }
        const final = await cancel(row);
        await record(tx, row.id, final);
        const context = { cancellationId: row.id, orderId: row.order_id, ...final };
        if (final.status === "failed")
          log.error(context, "payment of a cancelled order could not be cancelled: needs a look");
        else log.info(context, "payment of a cancelled order settled at Hyperswitch");
      }, NO_SILENT_RERUN);
    } catch (error) {
      // Visible to operators while graphile-worker retries the job.
      const reason = error instanceof Error ? error.message : String(error);
      await deps.db.query(sql.type(Done)`
        update settle.payment_cancellations
        set attempts = attempts + 1, last_error = ${`waiting: ${reason}`}
        where id = ${id} and status = 'pending' returning id`);
      throw error;
    }
  };

  async function cancel(row: z.infer<typeof Cancellation>): Promise<Final> {
    try {
      const payment = await deps.hyperswitch.cancelPayment(row.id, row.payment_id, {
        cancellationReason: "order cancelled",
      });
      return where(payment, null);
    } catch (error) {
      if (!(error instanceof PspError) || error.kind !== "permanent") throw error;
      if (error.httpStatus === 404 && error.code === "HE_02")
        return { status: "not_needed", note: "no such payment at Hyperswitch" };
      // Refused: learn where the payment stands (a GET error fails the job: retried).
      const payment = await deps.hyperswitch.findPayment(row.payment_id);
      if (!payment) return { status: "not_needed", note: "no such payment at Hyperswitch" };
      return where(payment, error.summary());
    }
  }
}

function where(payment: Payment, refusal: string | null): Final {
  if (payment.status === "cancelled") return { status: "cancelled", note: null };
  if (DEAD.has(payment.status))
    return { status: "not_needed", note: `payment is ${payment.status}: nothing to cancel` };
  return {
    status: "failed",
    note: `payment is ${payment.status} at Hyperswitch, the order is cancelled here${refusal ? ` (cancel refused: ${refusal})` : ""}`,
  };
}

async function record(tx: DatabaseTransactionConnection, id: string, final: Final) {
  await tx.query(sql.type(Done)`
    update settle.payment_cancellations
    set status = ${final.status}, attempts = attempts + 1, last_error = ${final.note}
    where id = ${id} and status = 'pending' returning id`);
}
