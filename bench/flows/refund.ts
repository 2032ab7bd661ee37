/**
 * refund_to_reversed: a full refund requested through the refundOrder mutation
 * (Hyperswitch POST /refunds; the fake connector settles it at once and sends
 * refund_succeeded), and the clock stops when each seller's reversal is reversed
 * at Stripe and recorded.
 */
import { closedLoop, type LoopResult } from "../closed-loop.ts";
import { graphql, type Harness } from "../harness.ts";
import { SELLERS_PER_ORDER } from "../seed.ts";

const REFUND = `mutation ($o: UUID!) { refundOrder(input: { orderId: $o, reason: "bench" }) { refund { id } } }`;

/** PSP requests on the flow's critical path: POST /refunds, then the Stripe reversal. */
export const REFUND_PSP_CALLS_IN_SERIES = 2;

export async function benchRefund(
  h: Harness,
  orderIds: readonly string[],
  clients: number,
): Promise<LoopResult> {
  return closedLoop({
    clients,
    count: orderIds.length,
    operation: async (n) => {
      const orderId = orderIds[n]!;
      const done = h.completion.wait("reversal_reversed", orderId, SELLERS_PER_ORDER);
      await graphql(h, REFUND, { o: orderId });
      return await done;
    },
  });
}
