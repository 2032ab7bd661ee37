/**
 * Shared pieces of the Stripe tests: a fresh fake per test (tests in a file run
 * concurrently, and faults, clock and balances are per fake), the real
 * stripe-node and our service pointed at it, a webhook receiver on loopback, and
 * a port with nobody listening.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExecutionContext } from "ava";
import { pino } from "pino";
import Stripe from "stripe";
import type { Clock } from "../../../src/di/tokens.ts";
import { STRIPE_API_VERSION } from "../../../src/psp/stripe/api-version.ts";
import { type FakeStripe, startFakeStripe } from "../../../src/psp/stripe/fake/index.ts";
import { StripeService } from "../../../src/psp/stripe/service.ts";

export const SECRET_KEY = "sk_test_settle";
export const silent = pino({ level: "silent" });

export async function fakeFor(
  t: ExecutionContext,
  options: Parameters<typeof startFakeStripe>[0] = {},
): Promise<FakeStripe> {
  const fake = await startFakeStripe({ logger: silent, ...options });
  t.teardown(() => fake.close());
  return fake;
}

/** The real SDK, configured as the brief of SPEC §8 says a developer would. */
export function sdkFor(fake: { port: number }): Stripe {
  return new Stripe(SECRET_KEY, {
    host: "127.0.0.1",
    port: fake.port,
    protocol: "http",
    maxNetworkRetries: 0,
    apiVersion: STRIPE_API_VERSION,
  });
}

export function serviceFor(
  apiBase: string,
  options: { timeoutMs?: number; clock?: Clock } = {},
): StripeService {
  return new StripeService(
    { secretKey: SECRET_KEY, apiBase, timeoutMs: options.timeoutMs ?? 5_000, logger: silent },
    options.clock ?? Date.now,
  );
}

/** A seller's transfer request for one order, with unique ids. */
export function transferRequest(overrides: Partial<{ amount: number; destination: string }> = {}) {
  const orderId = randomUUID();
  const sellerTransferId = randomUUID();
  return {
    key: sellerTransferId,
    orderId,
    sellerTransferId,
    request: {
      amount: overrides.amount ?? 1_000,
      currency: "USD",
      destination: overrides.destination ?? "acct_1Seller",
      transferGroup: orderId,
      metadata: { order_id: orderId, seller_transfer_id: sellerTransferId },
    },
  };
}

/** A port that was free a moment ago and has nobody listening: connections are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook endpoint on loopback that records every delivery; `failFirst`
 * answers 500 to that many attempts first, to see the sender try again.
 */
export async function startReceiver(t: ExecutionContext, options: { failFirst?: number } = {}) {
  const received: Received[] = [];
  let failures = options.failFirst ?? 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/stripe`, received };
}

export function eventOf(r: Received): {
  id: string;
  type: string;
  account?: string;
  data: { object: { id: string } };
} {
  return JSON.parse(r.body);
}
