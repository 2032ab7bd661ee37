/**
 * A stateful fake Hyperswitch (v1 payments and refunds) on loopback, for tests and
 * for running Settle without credentials. Faithful where our code depends on it:
 * wire format and error bodies, merchant-chosen ids as the idempotency mechanism,
 * the order of the refund checks, test-card outcomes, and signed at-least-once
 * webhooks. The HTTP shell (request recording, fault injection, /__fake/requests,
 * /__fake/faults, /__fake/reset) is src/psp/fake/server.ts; ./controls.ts lists the
 * control calls added here.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../../../log.ts";
import { type FakeServer, startFakeServer } from "../../fake/server.ts";
import {
  createWebhookSender,
  type Delivery,
  type WebhookBehaviour,
  type WebhookSender,
} from "../../fake/webhooks.ts";
import { createControls } from "./controls.ts";
import { defaultErrorBody } from "./errors.ts";
import { createEventLog, type EmittedEvent, signatureHeaders } from "./events.ts";
import type { WirePayment, WireRefund } from "./objects.ts";
import { type PaymentOutcome, settlePayment } from "./payments.ts";
import {
  applySettlement,
  DEFAULT_SETTLEMENT,
  type RefundOutcome,
  type RefundSettlement,
  settleRefund,
} from "./refunds.ts";
import { createHandler } from "./routes.ts";
import { createState, snapshot } from "./state.ts";

export type { EmittedEvent } from "./events.ts";
export type { WirePayment, WireRefund } from "./objects.ts";
export type { PaymentOutcome } from "./payments.ts";
export type { RefundOutcome, RefundSettlement } from "./refunds.ts";

export interface FakeHyperswitchOptions {
  /** (Default: 0, any free port) */
  port?: number;
  logger?: Logger;
  /** The `api-key` the fake accepts. (Default: "snd_fake_hyperswitch") */
  apiKey?: string;
  /** The profile's `payment_response_hash_key` that signs webhooks. (Default: "whsec_fake_hyperswitch") */
  webhookSecret?: string;
  /** Decides probabilistic faults and webhook chaos; seedable to repeat a run. (Default: Math.random) */
  random?: () => number;
}

export interface FakeHyperswitch extends FakeServer {
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly merchantId: string;
  readonly webhooks: WebhookSender;
  payment(paymentId: string): WirePayment | undefined;
  payments(): WirePayment[];
  refund(refundId: string): WireRefund | undefined;
  refunds(): WireRefund[];
  /** Every webhook event emitted, once each (deliveries, with duplicates, are on `webhooks`). */
  events(): EmittedEvent[];
  /** The buyer completes or abandons checkout (or 3DS): the payment leaves its open status. */
  settlePayment(paymentId: string, outcome: PaymentOutcome): WirePayment;
  /** The connector settles a pending refund. */
  settleRefund(refundId: string, outcome: RefundOutcome): WireRefund;
  configureRefunds(patch: Partial<RefundSettlement>): RefundSettlement;
}

export const FAKE_HYPERSWITCH_API_KEY = "snd_fake_hyperswitch";
export const FAKE_HYPERSWITCH_WEBHOOK_SECRET = "whsec_fake_hyperswitch";

export async function startFakeHyperswitch(
  options: FakeHyperswitchOptions = {},
): Promise<FakeHyperswitch> {
  const apiKey = options.apiKey ?? FAKE_HYPERSWITCH_API_KEY;
  const webhookSecret = options.webhookSecret ?? FAKE_HYPERSWITCH_WEBHOOK_SECRET;
  const logger = options.logger?.child({ fake: "hyperswitch" });
  const webhooks = createWebhookSender({
    name: "hyperswitch",
    sign: signatureHeaders(webhookSecret),
    logger,
    random: options.random,
  });
  const eventLog = createEventLog(webhooks);
  const state = createState({
    merchantId: "merchant_fake",
    profileId: "pro_fake",
    onChange: (change) => eventLog.record(state, change),
  });
  let settlement: RefundSettlement = { ...DEFAULT_SETTLEMENT };
  const timers = new Set<NodeJS.Timeout>();
  let url = "";

  function later(settle: () => void, ms: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      settle();
    }, ms);
    // A pending settlement must not keep a test process (or a stopping server) alive.
    timer.unref();
    timers.add(timer);
  }

  const api = {
    settlePayment: (id: string, outcome: PaymentOutcome) =>
      snapshot(settlePayment(state, id, outcome)),
    settleRefund: (id: string, outcome: RefundOutcome) =>
      snapshot(settleRefund(state, id, outcome)),
    configureRefunds(patch: Partial<RefundSettlement>): RefundSettlement {
      settlement = { ...settlement, ...patch };
      return { ...settlement };
    },
    configureWebhooks: (patch: Partial<WebhookBehaviour>) => webhooks.configure(patch),
    flushWebhooks: () => webhooks.flush(),
    drainWebhooks: () => webhooks.drain(),
    deliveries: (): Delivery[] => webhooks.deliveries(),
    events: () => eventLog.list(),
    payments: () => [...state.payments.values()].map(snapshot),
    refunds: () => [...state.refunds.values()].map(snapshot),
  };

  function clear(): void {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    state.payments.clear();
    state.refunds.clear();
    eventLog.clear();
    webhooks.reset();
    settlement = { ...DEFAULT_SETTLEMENT };
  }

  const server = await startFakeServer(
    {
      name: "hyperswitch",
      handler: createHandler({
        state,
        apiKey,
        baseUrl: () => url,
        refundCreated: (refundId) => applySettlement(state, refundId, settlement, later),
      }),
      controls: createControls(api),
      onReset: clear,
      defaultErrorBody,
      // Hyperswitch puts an x-request-id on every answer, errors included.
      responseHeaders: () => ({ "x-request-id": randomUUID() }),
      logger,
      random: options.random,
    },
    { port: options.port },
  );
  url = server.url;

  return {
    ...server,
    ...api,
    apiKey,
    webhookSecret,
    merchantId: state.merchantId,
    webhooks,
    payment: (id) => {
      const payment = state.payments.get(id);
      return payment && snapshot(payment);
    },
    refund: (id) => {
      const refund = state.refunds.get(id);
      return refund && snapshot(refund);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Pending retries stop at their next attempt instead of posting to a closed test.
      webhooks.configure({ url: null });
      await server.close();
    },
  };
}
