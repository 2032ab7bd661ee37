/**
 * subscriptions__renew: at the end of an active subscription's period (the job's
 * run_at, set by the subscription's row trigger), the next period's invoice;
 * its own trigger enqueues the charge. The subscription moves to the new period
 * only when that invoice is paid (the payment gate). Nothing happens for a
 * subscription no longer active, a run before the period end (our clock), or a
 * period invoiced already; the sweeper re-drives a renewal whose job was lost.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAs } from "../flows/database-context.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";

export const TASK = "subscriptions__renew";

export function makeRenewSubscription(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const now = deps.now ?? Date.now;
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    const invoiceId = await deps.db.transaction(async (tx) => {
      await actAs(tx, TASK);
      return tx.oneFirst(sql.type(z.object({ invoice_id: z.string().nullable() }))`
        select settle_private.renew_subscription(${id}, to_timestamp(${now() / 1000})) as invoice_id`);
    });
    if (invoiceId) log.info({ subscriptionId: id, invoiceId }, "renewal invoiced");
  };
}
