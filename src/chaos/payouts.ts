/**
 * Payouts during the run: the back office asks for them now and then (createPayout
 * for one seller, or the daily pay-all task run early), and the fake Stripe's
 * "bank" answers every pending payout (mostly paid, sometimes failed), whose
 * payout.* webhooks move our rows. Paying sellers out mid-run is also what makes
 * later reversals meet an empty balance: seller debts.
 */
import type { Api } from "../demo/api.ts";
import { createPayout } from "./api-calls.ts";
import type { FakeControl } from "./fakes.ts";
import type { Seller } from "./orders.ts";
import { sleep } from "./processes.ts";
import type { Dice } from "./random.ts";
import type { Watch } from "./watch.ts";

export interface PayoutTally {
  requested: number;
  payAllRuns: number;
  refused: number;
  settledPaid: number;
  settledFailed: number;
}

interface LedgerPayout {
  account: string | null;
  payout: { id: string; status: string };
}

export function startPayouts(ctx: {
  api: Api;
  watch: Watch;
  stripe: FakeControl;
  sellers: Seller[];
  d: Dice;
  /** Mean pause between two payout requests. */
  everyMs: number;
}): { tally: PayoutTally; stopRequests(): Promise<void>; stop(): Promise<void> } {
  const tally: PayoutTally = {
    requested: 0,
    payAllRuns: 0,
    refused: 0,
    settledPaid: 0,
    settledFailed: 0,
  };
  let requesting = true;
  let settling = true;
  const { d } = ctx;

  const requests = (async () => {
    while (requesting) {
      await sleep(ctx.everyMs * (0.5 + d.next()));
      if (!requesting) break;
      if (d.chance(0.4)) {
        // The crontab's task, run now (its own job key keeps one run at a time).
        await ctx.watch.rows(
          "select graphile_worker.add_job('seller_payouts__pay_all', '{}'::json, job_key := 'seller_payouts__pay_all')",
        );
        tally.payAllRuns++;
      } else {
        const seller = d.pick(ctx.sellers);
        try {
          await createPayout(ctx.api, seller.id);
          tally.requested++;
        } catch {
          tally.refused++; // held, nothing available, or the API was down: the next round
        }
      }
    }
  })();

  const bank = (async () => {
    while (settling) {
      await sleep(700);
      let pending: LedgerPayout[] = [];
      try {
        const { payouts } = await ctx.stripe.call<{ payouts: LedgerPayout[] }>(
          "GET",
          "ledger?part=payouts",
        );
        pending = payouts.filter((p) => p.payout.status === "pending");
      } catch {
        continue;
      }
      for (const { payout } of pending) {
        const status = d.chance(0.1) ? "failed" : "paid";
        try {
          await ctx.stripe.call("POST", "payouts/settle", { id: payout.id, status });
          if (status === "paid") tally.settledPaid++;
          else tally.settledFailed++;
        } catch {
          // settled meanwhile
        }
      }
    }
  })();

  return {
    tally,
    async stopRequests() {
      requesting = false;
      await requests;
    },
    async stop() {
      requesting = false;
      settling = false;
      await Promise.all([requests, bank]);
    },
  };
}
