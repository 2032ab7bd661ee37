/**
 * webhook_events__process: applies one stored webhook event (SPEC §5), in one
 * transaction with the event's bookkeeping (processed_at, attempts, last_error).
 *   payment_succeeded -> order paid + one transfer row (and job) per seller
 *   payment_failed    -> order failed
 *   refund_succeeded  -> refund succeeded, order partially_refunded | refunded,
 *                        sellers' shares taken back (reversals, or transfers
 *                        shrunk/cancelled before they were made)
 *   refund_failed     -> refund failed
 *   payment_cancelled -> nothing: the echo of our cancel of a cancelled order's
 *                        payment (payment_cancellations__send), else noted
 * A payment event for a subscription invoice goes to ./webhooks/invoice-payments.ts.
 * An event for a state not reached yet (NOTYT: it overtook the API call that
 * caused it) fails the job, which graphile-worker retries with backoff; repeated
 * and stale events change nothing; anything else is acknowledged and noted.
 */
import type { Task } from "graphile-worker";
import type { DatabaseTransactionConnection, QuerySqlToken } from "slonik";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAsColumn } from "../flows/database-context.ts";
import {
  type HyperswitchWebhook,
  parseWebhookEvent,
  WebhookPayloadError,
} from "../psp/hyperswitch/webhooks.ts";
import { confirmsOwnCall } from "../psp/stripe/confirmation-events.ts";
import { RowPayload, type TaskDeps } from "./deps.ts";
import { RowBusy } from "./row-jobs.ts";
import { applyInvoicePaymentEvent, type Dunning, dunningOf } from "./webhooks/invoice-payments.ts";
import { applyStripePayoutEvent } from "./webhooks/stripe-payouts.ts";

export const TASK = "webhook_events__process";

const StoredEvent = z.object({
  id: z.string(),
  provider: z.enum(["hyperswitch", "stripe"]),
  event_type: z.string().nullable(),
  payload: z.unknown(),
  processed_at: z.number().nullable(),
});
type StoredEvent = z.infer<typeof StoredEvent>;

const Outcome = z.object({ outcome: z.string() });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What applying an event did; anything but applied/duplicate/stale is kept in last_error. */
type Result = { outcome: string; note?: string };

export function makeProcessWebhook(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  const dunning = dunningOf(deps);
  return async (payload) => {
    const { id } = RowPayload.parse(payload);
    try {
      await deps.db.transaction(async (tx) => {
        const event = await tx.maybeOne(sql.type(StoredEvent)`
          select ${actAsColumn(TASK)}, id, provider, event_type, payload, processed_at from settle.webhook_events
          where id = ${id} for no key update skip locked`);
        if (!event) {
          const waiting = await tx.exists(sql.type(z.object({}))`
            select from settle.webhook_events where id = ${id} and processed_at is null`);
          if (waiting) throw new RowBusy(`webhook event ${id} is locked by another transaction`);
          return;
        }
        if (event.processed_at !== null) return;
        const result = await apply(tx, event, dunning);
        const quiet = ["applied", "duplicate", "stale"].includes(result.outcome);
        if (!quiet)
          log.warn(
            { eventId: id, type: event.event_type, ...result },
            "webhook event needs a look",
          );
        await tx.query(sql.type(z.object({ id: z.string() }))`
          update settle.webhook_events
          set processed_at = now(), attempts = attempts + 1,
              last_error = ${quiet ? null : `${result.outcome}${result.note ? `: ${result.note}` : ""}`}
          where id = ${id} returning id`);
      });
    } catch (error) {
      // Keep the attempt visible to operators, then let the job be retried.
      const reason = error instanceof Error ? error.message : String(error);
      await deps.db.query(sql.type(z.object({ id: z.string() }))`
        update settle.webhook_events set attempts = attempts + 1, last_error = ${`waiting: ${reason}`}
        where id = ${id} and processed_at is null returning id`);
      throw error;
    }
  };
}

async function apply(
  tx: DatabaseTransactionConnection,
  event: StoredEvent,
  dunning: Dunning,
): Promise<Result> {
  if (event.provider === "stripe") {
    // Transfers and reversals move by our own calls' answers (or their look-ups),
    // so their events only confirm what we know: acknowledged quietly. Anything
    // else is noted. payout.* events move seller payouts (./webhooks/stripe-payouts.ts).
    if (confirmsOwnCall(event.event_type)) return { outcome: "duplicate" };
    if (event.event_type?.startsWith("payout.")) return applyStripePayoutEvent(tx, event.payload);
    return { outcome: "ignored", note: `${event.event_type} has no handler` };
  }
  let hook: HyperswitchWebhook;
  try {
    hook = parseWebhookEvent(JSON.stringify(event.payload));
  } catch (error) {
    if (error instanceof WebhookPayloadError) return { outcome: "ignored", note: error.message };
    throw error;
  }
  const run = async (query: QuerySqlToken<typeof Outcome>) => ({
    outcome: await tx.oneFirst(query),
  });
  if (hook.content.type === "payment_details") {
    const payment = hook.content.object;
    const invoice = await applyInvoicePaymentEvent(tx, hook.event_type, payment, dunning);
    if (invoice) return invoice;
    if (!UUID.test(payment.payment_id))
      return { outcome: "unknown", note: `payment ${payment.payment_id} is not ours` };
    switch (hook.event_type) {
      case "payment_succeeded":
        return withNote(
          await run(sql.type(Outcome)`
            select settle_private.apply_payment_succeeded(${payment.payment_id}, ${payment.payment_id}, ${payment.updated}) as outcome`),
          `payment ${payment.payment_id} succeeded`,
        );
      case "payment_failed":
        return withNote(
          await run(sql.type(Outcome)`
            select settle_private.apply_payment_failed(${payment.payment_id}, ${payment.updated},
              ${`${payment.error_code ?? "failed"}: ${payment.error_message ?? "payment failed"}`}) as outcome`),
          `payment ${payment.payment_id} failed`,
        );
      case "payment_cancelled": {
        // Our own cancel of a cancelled order's payment (payment_cancellations__send).
        const ours = await tx.exists(sql.type(z.object({}))`
          select from settle.orders where id = ${payment.payment_id} and status = 'cancelled'`);
        return ours
          ? { outcome: "duplicate" }
          : { outcome: "ignored", note: `payment ${payment.payment_id} cancelled at the PSP` };
      }
      default:
        return { outcome: "ignored", note: `${hook.event_type} changes nothing here` };
    }
  }
  const refund = hook.content.object;
  if (!UUID.test(refund.refund_id))
    return { outcome: "unknown", note: `refund ${refund.refund_id} is not ours` };
  if (hook.event_type === "refund_succeeded") {
    return withNote(
      await run(sql.type(Outcome)`
        select settle_private.apply_refund_succeeded(${refund.refund_id}, ${refund.refund_id}, ${refund.updated_at}) as outcome`),
      `refund ${refund.refund_id} succeeded`,
    );
  }
  return withNote(
    await run(sql.type(Outcome)`
      select settle_private.apply_refund_failed(${refund.refund_id}, ${refund.refund_id}, ${refund.updated_at},
        ${`${refund.error_code ?? "failed"}: ${refund.error_message ?? "refund failed"}`}) as outcome`),
    `refund ${refund.refund_id} failed`,
  );
}

function withNote(result: { outcome: string }, what: string): Result {
  return result.outcome === "conflict"
    ? { outcome: "conflict", note: `${what} at the PSP, which contradicts a final status here` }
    : result.outcome === "unknown"
      ? { outcome: "unknown", note: `${what}, but no such row here` }
      : result;
}
