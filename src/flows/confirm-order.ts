/**
 * confirmOrder (SPEC §5): the order goes payment_pending, committed, then one
 * Hyperswitch POST /payments with payment_id = the order id (and the same
 * Idempotency-Key). A decline or permanent error fails the order and says why; an
 * unreachable PSP leaves it payment_pending, and confirming again resumes with the
 * same payment_id (an existing payment is adopted, never doubled). No automatic
 * retry: the buyer is waiting for this answer.
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import type { Logger } from "../log.ts";
import { PspError } from "../psp/errors.ts";
import type { HyperswitchClient } from "../psp/hyperswitch/client.ts";
import { asCaller, type Caller } from "./caller.ts";
import { pspDeclined, pspUnavailable } from "./errors.ts";

const Order = z.object({
  id: z.string(),
  buyer_id: z.string(),
  currency: z.string(),
  total_amount: z.bigint(),
  status: z.string(),
});

export interface ConfirmDeps {
  db: DatabasePool;
  hyperswitch: HyperswitchClient;
  logger: Logger;
}

export async function confirmOrder(
  deps: ConfirmDeps,
  caller: Caller,
  orderId: string,
): Promise<{ orderId: string; clientSecret: string | null }> {
  const order = await asCaller(deps.db, caller, (tx) =>
    tx.one(sql.type(Order)`
      select id, buyer_id, currency, total_amount, status from settle_api.confirm_order_begin(${orderId})`),
  );
  try {
    const { value: payment, adopted } = await deps.hyperswitch.createPaymentOrAdopt(order.id, {
      amount: order.total_amount,
      currency: order.currency,
      customerId: order.buyer_id,
      metadata: { order_id: order.id },
    });
    await asCaller(deps.db, caller, (tx) =>
      tx.query(sql.type(z.object({ id: z.string() }))`
        select id from settle_api.confirm_order_record(${order.id}, ${payment.payment_id}, ${payment.updated ?? null})`),
    );
    if (adopted)
      deps.logger.info({ orderId: order.id }, "confirmOrder adopted an existing payment");
    return { orderId: order.id, clientSecret: payment.client_secret ?? null };
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.kind === "permanent") {
      await asCaller(deps.db, caller, (tx) =>
        tx.query(sql.type(z.object({ id: z.string() }))`
          select id from settle_api.confirm_order_fail(${order.id}, ${error.summary()})`),
      );
      throw pspDeclined("the payment", error);
    }
    await asCaller(deps.db, caller, (tx) =>
      tx.query(sql.type(z.object({ id: z.string() }))`
        select id from settle_api.confirm_order_note(${order.id}, ${error.summary()})`),
    );
    throw pspUnavailable("the payment", error);
  }
}
