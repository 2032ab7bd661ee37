/**
 * Stripe payout.* events (SPEC §5): the bank's answer moves a seller payout.
 *   payout.paid / payout.failed / payout.canceled -> that status
 *   payout.updated                                -> the object's status (in_transit)
 * The row is found by the payout id, else by the metadata we sent (an event that
 * overtook our call's answer: the id is adopted). A repeated event is a duplicate,
 * an older one (in_transit after a final status) stale; one that contradicts a
 * final status (failed after paid) is a conflict, kept for a human.
 * The rules are settle_private.apply_payout_event's; this only reads the event.
 */
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { sql } from "../../db/slonik.ts";

const TARGETS = new Set(["in_transit", "paid", "failed", "canceled"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const PayoutEvent = z.object({
  type: z.string(),
  data: z.object({
    object: z.object({
      id: z.string().startsWith("po_"),
      status: z.string(),
      metadata: z.record(z.string(), z.string()).nullish(),
      failure_code: z.string().nullish(),
      failure_message: z.string().nullish(),
    }),
  }),
});

const Outcome = z.object({ outcome: z.string() });

export async function applyStripePayoutEvent(
  tx: DatabaseTransactionConnection,
  payload: unknown,
): Promise<{ outcome: string; note?: string }> {
  const parsed = PayoutEvent.safeParse(payload);
  if (!parsed.success) return { outcome: "ignored", note: "not a payout event we can read" };
  const { type, data } = parsed.data;
  const payout = data.object;
  const target = type === "payout.updated" ? payout.status : type.slice("payout.".length);
  if (!TARGETS.has(target)) return { outcome: "ignored", note: `${type} changes nothing here` };
  const ours = payout.metadata?.seller_payout_id;
  const error = `${payout.failure_code ?? "failed"}: ${payout.failure_message ?? "payout failed"}`;
  const outcome = await tx.oneFirst(sql.type(Outcome)`
    select settle_private.apply_payout_event(
      ${ours && UUID.test(ours) ? ours : null}, ${payout.id}, ${target}, ${error}) as outcome`);
  if (outcome === "unknown") return { outcome, note: `payout ${payout.id} is not ours` };
  if (outcome === "conflict")
    return {
      outcome,
      note: `payout ${payout.id} is ${target} at Stripe, which contradicts its status here`,
    };
  return { outcome };
}
