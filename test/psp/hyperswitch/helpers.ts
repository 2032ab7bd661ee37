/**
 * Test helpers for the Hyperswitch client and fake: a fake per test (closed on
 * teardown), a client pointed at it, plain HTTP to it, a closed port, and a small
 * webhook receiver. Everything is on 127.0.0.1.
 */
import "reflect-metadata";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExecutionContext } from "ava";
import { logger } from "../../../src/log.ts";
import { HyperswitchClient } from "../../../src/psp/hyperswitch/client.ts";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../../src/psp/hyperswitch/fake/index.ts";

export async function startFake(
  t: ExecutionContext,
  options: { apiKey?: string; webhookSecret?: string } = {},
): Promise<FakeHyperswitch> {
  const fake = await startFakeHyperswitch({ logger, ...options });
  t.teardown(() => fake.close());
  return fake;
}

export function clientFor(
  fake: { url: string; apiKey: string },
  overrides: { timeoutMs?: number; apiKey?: string; baseUrl?: string } = {},
): HyperswitchClient {
  return new HyperswitchClient({
    baseUrl: overrides.baseUrl ?? fake.url,
    apiKey: overrides.apiKey ?? fake.apiKey,
    timeoutMs: overrides.timeoutMs ?? 5_000,
    logger,
  });
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body ({} when it is not a JSON object, so that field checks fail readably). */
  json: Record<string, unknown> & { error?: Record<string, unknown> };
}

/** Plain fetch, bypassing the client: the body is sent as given (a string verbatim). */
export async function raw(
  fake: { url: string; apiKey: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string | undefined> = {},
): Promise<RawAnswer> {
  const sent: Record<string, string> = {
    "Content-Type": "application/json",
    "api-key": fake.apiKey,
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete sent[name];
    else sent[name] = value;
  }
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: sent,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: RawAnswer["json"] = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) json = parsed as RawAnswer["json"];
  } catch {
    // not JSON: json stays {}
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * Waits until the fake has received `count` requests and handled them all (a held
 * or dropped answer is recorded once the work is done), for tests whose client
 * gave up first.
 */
export async function processed(fake: FakeHyperswitch, count: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  const pending = () => {
    const requests = fake.requests();
    return requests.length < count || requests.some((r) => r.outcome === 0);
  };
  while (pending()) {
    if (Date.now() > deadline) throw new Error("the fake did not finish its requests");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port that was free a moment ago and has nothing listening: connection refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** Resolves once `count` webhooks arrived; rejects after `ms`. */
  waitFor(count: number, ms?: number): Promise<ReceivedWebhook[]>;
}

/** A merchant endpoint: records every POST; `answer` picks the status per attempt (1-based). */
export async function startReceiver(
  t: ExecutionContext,
  answer: (attempt: number) => number = () => 200,
): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let attempts = 0;
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const status = answer(++attempts);
      if (status >= 200 && status < 300) {
        received.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        });
        for (const wake of waiters.splice(0)) wake();
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/hyperswitch`,
    received,
    async waitFor(count, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} webhooks, got ${received.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.slice(0, count);
    },
  };
}

export const SUCCESS_CARD = {
  cardNumber: "4242424242424242",
  cardExpMonth: "12",
  cardExpYear: "2035",
  cardCvc: "123",
};
export const DECLINED_CARD = { ...SUCCESS_CARD, cardNumber: "4000000000000002" };

/** The wire form of a card, for plain HTTP requests. */
export function wireCard(cardNumber: string) {
  return {
    card: { card_number: cardNumber, card_exp_month: "12", card_exp_year: "2035", card_cvc: "123" },
  };
}
