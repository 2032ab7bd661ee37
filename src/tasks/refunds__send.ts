/**
 * refunds__send: phase 2 of a refund whose mutation did not finish it (a crash
 * between the phases, an unreachable PSP). Enqueued with the row (30 s later) and
 * by the sweeper. It posts with refund_id = the row id, so a refund that did reach
 * Hyperswitch is found and adopted (HE_01 / IR_13 → GET), never doubled. While the
 * PSP stays unreachable the job fails and graphile-worker retries it with backoff.
 */
import type { Task } from "graphile-worker";
import { sql } from "../db/slonik.ts";
import { actAs } from "../flows/database-context.ts";
import { PendingRefundRow, sendRefund } from "../flows/refund-order.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";

export const TASK = "refunds__send";

export function makeSendRefund(deps: TaskDeps): Task {
  const logger = deps.logger.child({ task: TASK });
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    const refund = await deps.db.maybeOne(sql.type(PendingRefundRow)`
      select f.id, f.order_id, f.amount, f.reason, f.status,
             coalesce(nullif(o.psp_payment_id, ''), o.id::text) as payment_id
      from settle.refunds f join settle.orders o on o.id = f.order_id
      where f.id = ${id} and f.status = 'pending'`);
    if (!refund) return; // sent, settled or failed already
    const inTransaction = <T>(step: Parameters<typeof deps.db.transaction<T>>[0]) =>
      deps.db.transaction(async (tx) => {
        await actAs(tx, TASK);
        return step(tx);
      });
    const outcome = await sendRefund({ ...deps, logger }, inTransaction, refund, { loud: false });
    if (outcome === "unsent") throw new Error(`refund ${id} not sent yet: the PSP is unreachable`);
  };
}
