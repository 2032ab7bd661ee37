/**
 * payment_webhook_to_transfers: the buyer pays at (fake) Hyperswitch, its signed
 * payment_succeeded webhook is POSTed to /webhooks/hyperswitch, and the clock
 * stops when every seller's transfer of the order is completed at Stripe and
 * recorded. The fake's own delivery is switched off so the bench POSTs the very
 * bytes the fake signed, at a moment it controls.
 */
import { createHmac } from "node:crypto";
import { closedLoop, type LoopResult } from "../closed-loop.ts";
import type { Harness } from "../harness.ts";
import { SELLERS_PER_ORDER } from "../seed.ts";

export async function benchPaymentWebhook(
  h: Harness,
  orderIds: readonly string[],
  clients: number,
): Promise<LoopResult> {
  const deliverTo = `${h.url}/webhooks/hyperswitch`;
  h.hyperswitch.webhooks.configure({ url: null });
  try {
    return await closedLoop({
      clients,
      count: orderIds.length,
      operation: async (n) => {
        const orderId = orderIds[n]!;
        h.hyperswitch.settlePayment(orderId, { status: "succeeded" });
        const event = h.hyperswitch.events().at(-1);
        if (event?.objectId !== orderId || event.eventType !== "payment_succeeded") {
          throw new Error(`the fake emitted no payment_succeeded for ${orderId}`);
        }
        const signature = createHmac("sha512", h.services.psps.hyperswitchWebhookSecret)
          .update(event.body)
          .digest("hex");
        const done = h.completion.wait("transfer_completed", orderId, SELLERS_PER_ORDER);
        const response = await fetch(deliverTo, {
          method: "POST",
          headers: { "content-type": "application/json", "x-webhook-signature-512": signature },
          body: event.body,
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
        return await done;
      },
    });
  } finally {
    h.hyperswitch.webhooks.configure({ url: deliverTo });
  }
}
