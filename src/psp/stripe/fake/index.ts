/**
 * A stateful fake Stripe on loopback, faithful to the wire format stripe-node
 * speaks, so the real SDK pointed at it (`host`/`port`/`protocol`) behaves as
 * against Stripe for every call Settle makes: transfers, reversals, payouts,
 * idempotency replays, error shapes, signed Connect webhooks. The HTTP shell
 * (request recording, fault injection, /__fake/requests|faults|reset) is
 * src/psp/fake/server.ts; this module adds Stripe's behaviour and these control
 * calls (POST with a JSON body, GET to read):
 *   /__fake/webhooks          {url?, delayMs?, duplicates?, reorder?, maxAttempts?, retryDelayMs?,
 *                              duplicateRate?, jitterMs?}
 *   /__fake/webhooks/flush    send the events held for reordering, newest first
 *   /__fake/webhooks/drain    wait for every queued delivery, list them
 *   /__fake/balances          {account: "acct_…" | null (platform), currency, amount}
 *   /__fake/clock             {advanceMs}
 *   /__fake/payouts/settle    {id, status: paid|failed|canceled, failureCode?, failureMessage?}
 *   /__fake/processing        {delayMs}: time each POST spends executing
 *   /__fake/state             transfers, payouts, balances
 *   /__fake/ledger            the books, whole: every transfer with all its reversals,
 *                             every payout with its account, balances, and every
 *                             keyed POST executed (key -> object), for a chaos run's checks
 */
import type Stripe from "stripe";
import { z } from "zod";
import type { Clock } from "../../../di/tokens.ts";
import type { Logger } from "../../../log.ts";
import { type FakeServer, startFakeServer } from "../../fake/server.ts";
import { createWebhookSender, type WebhookSender } from "../../fake/webhooks.ts";
import { STRIPE_API_VERSION } from "../api-version.ts";
import { type AccountRef, Balances } from "./balances.ts";
import { createFakeClock, type FakeClock, unixSeconds } from "./clock.ts";
import { buildEvent, type FakeEventType, stripeSignature } from "./events.ts";
import { ExecutionLog } from "./executions.ts";
import { createStripeHandler } from "./handler.ts";
import { IdempotencyStore } from "./idempotency.ts";
import { PayoutBook, type PayoutOutcome } from "./payouts.ts";
import { stripeRoutes } from "./routes.ts";
import { TransferBook } from "./transfers.ts";
import { defaultErrorBody, newRequestId } from "./wire.ts";

export interface FakeStripeOptions {
  /** (Default: any free port) */
  port?: number;
  logger?: Logger;
  /** The endpoint secret webhooks are signed with. (Default: "whsec_settle_fake_stripe") */
  webhookSecret?: string;
  /** The base of the fake's clock; `clock.advance()` moves it on. (Default: Date.now) */
  clock?: Clock;
  /** Decides probabilistic faults and webhook chaos; seedable to repeat a run. (Default: Math.random) */
  random?: () => number;
}

export interface FakeStripe extends FakeServer {
  readonly webhookSecret: string;
  readonly clock: FakeClock;
  readonly webhooks: WebhookSender;
  /** An account's balance in a currency; null = unlimited (the platform, until set). */
  balance(account: AccountRef, currency: string): number | null;
  setBalance(account: AccountRef, currency: string, amount: number): void;
  /** Every transfer, newest first. */
  transfers(): Stripe.Transfer[];
  /** Every payout, newest first. */
  payouts(): Stripe.Payout[];
  /** The bank's answer to a payout: moves its status and sends the `payout.*` webhook. */
  settlePayout(
    id: string,
    outcome: PayoutOutcome,
    failure?: { code: string; message: string },
  ): Stripe.Payout;
  /** Time each POST spends executing, so that concurrent requests overlap. */
  setProcessingDelay(ms: number): void;
  /** Forgets state, keys, faults, conditions, recorded requests, webhook settings and clock advances. */
  reset(): void;
}

export const DEFAULT_WEBHOOK_SECRET = "whsec_settle_fake_stripe";

const WebhooksControl = z
  .object({
    url: z.url().nullable(),
    delayMs: z.number().int().min(0),
    duplicates: z.number().int().min(0).max(10),
    reorder: z.boolean(),
    maxAttempts: z.number().int().min(1).max(50),
    retryDelayMs: z.number().int().min(0),
    duplicateRate: z.number().min(0).max(1),
    jitterMs: z.number().int().min(0).max(600_000),
  })
  .partial()
  .strict();
const BalanceControl = z.object({
  account: z.string().startsWith("acct_").nullable(),
  currency: z.string().length(3),
  amount: z.number().int().min(0),
});
const ClockControl = z.object({ advanceMs: z.number().int().min(0) });
const SettleControl = z.object({
  id: z.string().startsWith("po_"),
  status: z.enum(["paid", "failed", "canceled"]),
  failureCode: z.string().optional(),
  failureMessage: z.string().optional(),
});
const ProcessingControl = z.object({ delayMs: z.number().int().min(0).max(60_000) });

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const { logger } = options;
  const webhookSecret = options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;
  const clock = createFakeClock(options.clock);
  const balances = new Balances();
  const transfers = new TransferBook(balances, clock.now);
  const payouts = new PayoutBook(balances, clock.now);
  const idempotency = new IdempotencyStore(clock.now);
  const executions = new ExecutionLog();
  let processingDelayMs = 0;

  // Signed at each attempt, as Stripe does: a retried delivery carries a fresh t=.
  const webhooks = createWebhookSender({
    name: "stripe",
    logger,
    random: options.random,
    sign: (body) => ({
      "Stripe-Signature": stripeSignature(webhookSecret, body, unixSeconds(clock.now())),
    }),
  });

  function emit(
    type: FakeEventType,
    object: unknown,
    account: AccountRef,
    request: { id: string | null; idempotencyKey: string | null },
  ): void {
    const event = buildEvent({
      type,
      object,
      account,
      created: unixSeconds(clock.now()),
      apiVersion: STRIPE_API_VERSION,
      request,
    });
    webhooks.emit({ eventId: event.id, type, body: JSON.stringify(event) });
  }

  function settlePayout(
    id: string,
    outcome: PayoutOutcome,
    failure?: { code: string; message: string },
  ): Stripe.Payout {
    const { payout, account } = payouts.settle(id, outcome, failure);
    emit(`payout.${outcome}`, payout, account, { id: null, idempotencyKey: null });
    return payout;
  }

  function resetState(): void {
    transfers.reset();
    payouts.reset();
    balances.reset();
    idempotency.clear();
    executions.clear();
    webhooks.reset();
    clock.reset();
    processingDelayMs = 0;
  }

  const server = await startFakeServer(
    {
      name: "stripe",
      logger,
      random: options.random,
      handler: createStripeHandler({
        routes: stripeRoutes({ transfers, payouts }),
        idempotency,
        executions,
        apiVersion: STRIPE_API_VERSION,
        processingDelayMs: () => processingDelayMs,
        emit,
      }),
      defaultErrorBody,
      // Stripe puts a request-id on every answer, errors included.
      responseHeaders: () => ({ "request-id": newRequestId() }),
      onReset: resetState,
      controls: {
        webhooks: (body) => ({
          behaviour: webhooks.configure(WebhooksControl.parse(body ?? {})),
          deliveries: webhooks.deliveries(),
        }),
        "webhooks/flush": () => {
          webhooks.flush();
          return { ok: true };
        },
        "webhooks/drain": async () => {
          await webhooks.drain();
          return { deliveries: webhooks.deliveries() };
        },
        balances: (body) => {
          if (body !== undefined) {
            const { account, currency, amount } = BalanceControl.parse(body);
            balances.set(account, currency, amount);
          }
          return { balances: balances.all() };
        },
        clock: (body) => {
          if (body !== undefined) clock.advance(ClockControl.parse(body).advanceMs);
          return { now: clock.now() };
        },
        "payouts/settle": (body) => {
          const { id, status, failureCode, failureMessage } = SettleControl.parse(body);
          const failure =
            failureCode || failureMessage
              ? {
                  code: failureCode ?? "account_closed",
                  message: failureMessage ?? "Payout failed.",
                }
              : undefined;
          return { payout: settlePayout(id, status, failure) };
        },
        processing: (body) => {
          processingDelayMs = ProcessingControl.parse(body).delayMs;
          return { delayMs: processingDelayMs };
        },
        state: () => ({
          transfers: transfers.all(),
          payouts: payouts.all(),
          balances: balances.all(),
        }),
        ledger: (_body, query) =>
          query.get("part") === "payouts"
            ? { payouts: payouts.ledger() }
            : {
                transfers: transfers.ledger(),
                payouts: payouts.ledger(),
                balances: balances.all(),
                executions: executions.all(),
              },
      },
    },
    { port: options.port },
  );

  return {
    ...server,
    webhookSecret,
    clock,
    webhooks,
    balance: (account, currency) => balances.get(account, currency),
    setBalance: (account, currency, amount) => balances.set(account, currency, amount),
    transfers: () => transfers.all(),
    payouts: () => payouts.all(),
    settlePayout,
    setProcessingDelay(ms) {
      processingDelayMs = ProcessingControl.parse({ delayMs: ms }).delayMs;
    },
    reset() {
      server.faults.clear();
      server.clearRequests();
      server.setConditions({ latencyMs: 0, rateLimitPerSecond: null, rateLimitBurst: 1 });
      resetState();
    },
  };
}
