/**
 * confirm: the confirmOrder mutation through to Hyperswitch POST /payments and
 * back (order payment_pending, psp_payment_id stored, client secret returned).
 */
import { closedLoop, type LoopResult } from "../closed-loop.ts";
import { graphql, type Harness } from "../harness.ts";

const CONFIRM = `mutation ($o: UUID!) { confirmOrder(input: { orderId: $o }) { clientSecret } }`;

export async function benchConfirm(
  h: Harness,
  orderIds: readonly string[],
  clients: number,
): Promise<LoopResult> {
  return closedLoop({
    clients,
    count: orderIds.length,
    operation: async (n) => {
      const data = await graphql<{ confirmOrder: { clientSecret: string | null } }>(h, CONFIRM, {
        o: orderIds[n],
      });
      if (!data.confirmOrder.clientSecret) throw new Error("confirmOrder gave no client secret");
      return undefined;
    },
  });
}
