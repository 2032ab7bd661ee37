/**
 * One marketplace order's life, as the front end, the buyer and the connector
 * play it: create, (maybe cancel,) confirm until the payment is recorded, the
 * buyer pays (or the card fails) at the fake Hyperswitch, then none, one or two
 * refunds (by amount, by item, or all that is left), each settled by the
 * connector as succeeded or, sometimes, failed. Every step decides from the
 * database what happened, never from an answer that may have been lost.
 */
import type { Api } from "../demo/api.ts";
import {
  cancelOrder,
  confirmOrder,
  createOrder,
  errorCode,
  refundOrder,
  registerBuyer,
} from "./api-calls.ts";
import type { FakeControl } from "./fakes.ts";
import { sleep } from "./processes.ts";
import type { Dice } from "./random.ts";
import { until, type Watch } from "./watch.ts";

export interface Seller {
  id: string;
  account: string;
}

export interface OrderContext {
  api: Api;
  watch: Watch;
  hyperswitch: FakeControl;
  sellers: Seller[];
  tag: string;
  /** How long one step may wait for the service before the order is reported stuck. */
  stepTimeoutMs: number;
}

/** API errors that say nothing about the request itself: try again. */
const TRANSIENT = new Set(["NETWORK", "ERROR", "INTERNAL", "CONFLICT", "PSP_UNAVAILABLE"]);

/** What happened to the order, for the run's tally. */
export type OrderStory = string;

/** Retries a call until `done` says its effect is in the database; returns that. */
async function untilDone<T>(
  what: string,
  call: () => Promise<unknown>,
  done: () => Promise<T | null | undefined>,
  options: { attempts?: number; stopOn?: (code: string) => boolean } = {},
): Promise<T> {
  const attempts = options.attempts ?? 30;
  let last = "";
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = await done();
    if (before) return before;
    try {
      await call();
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      if (options.stopOn?.(errorCode(error))) {
        const after = await done();
        if (after) return after;
        throw error;
      }
      await sleep(Math.min(200 * 2 ** attempt, 3_000));
    }
  }
  const after = await done();
  if (after) return after;
  throw new Error(`${what}: not done after ${attempts} attempts; last error: ${last}`);
}

export async function runOrder(ctx: OrderContext, n: number, d: Dice): Promise<OrderStory> {
  const { api, watch } = ctx;
  const one = async <T>(text: string, values: unknown[]) => (await watch.rows<T>(text, values))[0];

  const email = `buyer-${ctx.tag}-${n}@chaos.example`;
  const buyerId = await untilDone(
    `register buyer ${n}`,
    () => registerBuyer(api, email),
    async () =>
      (await one<{ id: string }>("select id from settle.buyers where email = $1", [email]))?.id,
  );
  const sellers = d.sample(ctx.sellers, d.int(1, Math.min(3, ctx.sellers.length)));
  const items = sellers.map((s) => {
    const amount = d.int(5, 300) * 100 + d.int(0, 99);
    return { sellerId: s.id, amount, platformFee: Math.floor(amount / 10) };
  });
  const orderId = await untilDone(
    `create order ${n}`,
    () => createOrder(api, buyerId, items),
    async () =>
      (await one<{ id: string }>("select id from settle.orders where buyer_id = $1", [buyerId]))
        ?.id,
  );
  const order = () =>
    one<{ status: string; psp_payment_id: string | null }>(
      "select status, psp_payment_id from settle.orders where id = $1",
      [orderId],
    );

  if (d.chance(0.04)) {
    await untilDone(
      `cancel order ${orderId}`,
      () => cancelOrder(api, buyerId, orderId),
      async () => ((await order())?.status === "cancelled" ? true : null),
    );
    return "cancelled before payment";
  }

  // confirmOrder until the payment is recorded (or declined): a lost answer is
  // resumed with the same payment_id, as the buyer's second click would.
  const confirmed = await untilDone(
    `confirm order ${orderId}`,
    () => confirmOrder(api, buyerId, orderId),
    async () => {
      const o = await order();
      if (o?.status === "failed") return "declined";
      return o?.psp_payment_id ? "recorded" : null;
    },
    { stopOn: (code) => code === "PSP_DECLINED" },
  ).catch(async (error: unknown) => {
    if (errorCode(error) === "PSP_DECLINED" && (await order())?.status === "failed")
      return "declined";
    throw error;
  });
  if (confirmed === "declined") return "payment declined at confirm";

  const pays = !d.chance(0.05);
  await ctx.hyperswitch.call("POST", "payments/outcome", {
    payment_id: orderId,
    status: pays ? "succeeded" : "failed",
  });
  const paid = await until(
    `order ${orderId} to be paid or failed (payment webhook)`,
    async () => {
      const status = (await order())?.status;
      return status === "paid" || status === "failed" ? status : null;
    },
    ctx.stepTimeoutMs,
  );
  if (paid === "failed") return "payment failed";

  const plan = d.pick(["none", "none", "none", "partial", "partial", "partial+rest", "full"]);
  if (plan === "none") return "paid";
  // Sometimes at once, while the transfers are still being made.
  await sleep(d.int(0, 2_500));
  const stories: string[] = [];
  const refunds = plan === "partial+rest" ? ["partial", "rest"] : [plan];
  for (const kind of refunds) {
    stories.push(`${kind} refund ${await refund(ctx, d, orderId, kind)}`);
  }
  return stories.join(", ");
}

async function refund(ctx: OrderContext, d: Dice, orderId: string, kind: string): Promise<string> {
  const { watch } = ctx;
  const known = new Set(
    (
      await watch.rows<{ id: string }>("select id from settle.refunds where order_id = $1", [
        orderId,
      ])
    ).map((r) => r.id),
  );
  let request: { amount?: number; items?: Array<{ orderItemId: string; amount: number }> } = {};
  if (kind === "partial") {
    const items = await watch.rows<{ id: string; amount: string }>(
      "select id, amount::text from settle.order_items where order_id = $1 order by id",
      [orderId],
    );
    const total = items.reduce((sum, i) => sum + Number(i.amount), 0);
    if (d.chance(0.5)) {
      const item = d.pick(items);
      request = { items: [{ orderItemId: item.id, amount: d.int(1, Number(item.amount)) }] };
    } else {
      request = { amount: d.int(1, total - 1) };
    }
  }
  let refused: string | null = null;
  const refundId = await untilDone(
    `refund (${kind}) of order ${orderId}`,
    () => refundOrder(ctx.api, orderId, request),
    async () =>
      (
        await watch.rows<{ id: string }>(
          "select id from settle.refunds where order_id = $1 order by created_at",
          [orderId],
        )
      ).find((r) => !known.has(r.id))?.id,
    { stopOn: (code) => !TRANSIENT.has(code) },
  ).catch((error: unknown) => {
    refused = errorCode(error);
    return null;
  });
  if (!refundId) return `refused (${refused})`;
  const status = async () =>
    (
      await watch.rows<{ status: string }>("select status from settle.refunds where id = $1", [
        refundId,
      ])
    )[0]?.status;
  // The connector settles it once Hyperswitch has it (processing here).
  const reached = await until(
    `refund ${refundId} to reach Hyperswitch`,
    async () => {
      const s = await status();
      return s && s !== "pending" ? s : null;
    },
    ctx.stepTimeoutMs,
  );
  if (reached === "failed") return "failed at the PSP call";
  if (reached === "processing") {
    const succeeds = !d.chance(0.1);
    await ctx.hyperswitch
      .call("POST", "refunds/outcome", {
        refund_id: refundId,
        status: succeeds ? "succeeded" : "failed",
      })
      .catch(() => undefined); // settled meanwhile: the connector answers once
  }
  return until(
    `refund ${refundId} to be settled (refund webhook)`,
    async () => {
      const s = await status();
      return s === "succeeded" || s === "failed" ? s : null;
    },
    ctx.stepTimeoutMs,
  );
}
