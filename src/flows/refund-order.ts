/**
 * refundOrder (SPEC §5). Phase 1 inserts the refunds row (pending) behind every
 * guard, in its own committed transaction; phase 2 sends POST /refunds with
 * refund_id = that row's id and records `processing` and the PSP's refund id. A
 * permanent PSP error fails the refund, loudly. An unreachable PSP leaves it
 * pending: the refunds__send job (enqueued with the row) and the sweeper re-drive
 * it, looking it up first, so a crash between the phases loses nothing.
 */
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import type { Logger } from "../log.ts";
import { PspError } from "../psp/errors.ts";
import type { HyperswitchClient } from "../psp/hyperswitch/client.ts";
import { asCaller, type Caller } from "./caller.ts";
import { pspDeclined } from "./errors.ts";

export interface RefundDeps {
  db: DatabasePool;
  hyperswitch: HyperswitchClient;
  logger: Logger;
}

export interface RefundRequest {
  orderId: string;
  /** Minor units; with neither amount nor items, what is left of the order. */
  amount?: bigint | null;
  reason?: string | null;
  items?: ReadonlyArray<{ orderItemId: string; amount: bigint }> | null;
}

const Pending = z.object({
  id: z.string(),
  order_id: z.string(),
  amount: z.bigint(),
  reason: z.string().nullable(),
  status: z.string(),
  payment_id: z.string(),
});
type PendingRefund = z.infer<typeof Pending>;

const Id = z.object({ id: z.string() });

export async function refundOrder(
  deps: RefundDeps,
  caller: Caller,
  request: RefundRequest,
): Promise<string> {
  const items = request.items?.length
    ? `{${request.items.map((i) => `"(${i.orderItemId},${i.amount})"`).join(",")}}`
    : null;
  const refund = await asCaller(deps.db, caller, (tx) =>
    tx.one(sql.type(Pending)`
      select f.id, f.order_id, f.amount, f.reason, f.status,
             coalesce(nullif(o.psp_payment_id, ''), o.id::text) as payment_id
      from settle_api.refund_order_begin(
        ${request.orderId}, ${request.amount ?? null}, ${request.reason ?? null},
        ${items}::settle_api.refund_line[]) f
      join settle.orders o on o.id = f.order_id`),
  );
  await sendRefund(deps, (step) => asCaller(deps.db, caller, step), refund, { loud: true });
  return refund.id;
}

/** Phase 2 for a pending refund; shared by the mutation and the refunds__send job. */
export async function sendRefund(
  deps: RefundDeps,
  inTransaction: <T>(step: (tx: DatabaseTransactionConnection) => Promise<T>) => Promise<T>,
  refund: PendingRefund,
  { loud }: { loud: boolean },
): Promise<"sent" | "failed" | "unsent"> {
  try {
    const { value } = await deps.hyperswitch.createRefundOrAdopt(refund.id, {
      paymentId: refund.payment_id,
      amount: refund.amount,
      ...(refund.reason ? { reason: refund.reason } : {}),
      metadata: { order_id: refund.order_id },
    });
    await inTransaction((tx) =>
      tx.query(sql.type(Id)`
        select id from settle_api.refund_order_sent(${refund.id}, ${value.refund_id}, ${value.status}, ${value.updated_at ?? null})`),
    );
    return "sent";
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.kind === "permanent") {
      await inTransaction((tx) =>
        tx.query(
          sql.type(
            Id,
          )`select id from settle_api.refund_order_fail(${refund.id}, ${error.summary()})`,
        ),
      );
      deps.logger.error(
        { refundId: refund.id, error: error.summary() },
        "refund refused by the PSP",
      );
      if (loud) throw pspDeclined("the refund", error);
      return "failed";
    }
    deps.logger.warn(
      { refundId: refund.id, error: error.summary() },
      "refund not sent yet: the PSP is unreachable or its answer was lost; the refunds__send job retries",
    );
    return "unsent";
  }
}

export type { PendingRefund };
export { Pending as PendingRefundRow };
