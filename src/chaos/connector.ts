/**
 * The connector behind the fake Hyperswitch during the drain: every refund still
 * pending there is settled (succeeded). While orders play, each order settles its
 * own refunds; one that reached Hyperswitch only after its order stopped waiting
 * (its PSP call retried for a long time) would otherwise stay pending for ever,
 * which no real connector does.
 */
import type { FakeControl } from "./fakes.ts";
import { sleep } from "./processes.ts";

export function startConnector(hyperswitch: FakeControl): {
  settled(): number;
  stop(): Promise<void>;
} {
  let running = true;
  let settled = 0;
  const loop = (async () => {
    while (running) {
      try {
        const { refunds } = await hyperswitch.call<{
          refunds: Array<{ refund_id: string; status: string }>;
        }>("GET", "state");
        for (const refund of refunds.filter((r) => r.status === "pending")) {
          await hyperswitch
            .call("POST", "refunds/outcome", { refund_id: refund.refund_id, status: "succeeded" })
            .then(() => settled++)
            .catch(() => undefined); // settled meanwhile
        }
      } catch {
        // the next round
      }
      await sleep(1_000);
    }
  })();
  return {
    settled: () => settled,
    async stop() {
      running = false;
      await loop;
    },
  };
}
