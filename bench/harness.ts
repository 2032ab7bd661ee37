/**
 * Settle as `npm start` runs it (API + worker in one process, src/app.ts), on the
 * bench database, against the fake PSPs with a standing latency on every PSP
 * request: the fake Hyperswitch in-process (the bench drives its payments and
 * webhooks directly), the fake Stripe in a process of its own, as a real Stripe
 * is (bench/remote-stripe.ts), so that its rate limit sees the requests as Settle
 * paces them; plus what the load generators need: a pool for seeding, a
 * platform token, and the completion listener.
 */
import { SignJWT } from "jose";
import pg from "pg";
import { type App, createApp } from "../src/app.ts";
import { type Config, loadConfig } from "../src/config.ts";
import type { Logger } from "../src/log.ts";
import type { FakeHyperswitch } from "../src/psp/hyperswitch/fake/index.ts";
import { openServices, type Services } from "../src/services.ts";
import { type Completion, listenForCompletion } from "./completion.ts";
import { type StripeControls, startStripeProcess } from "./remote-stripe.ts";

export interface Harness {
  url: string;
  /** Read by the tasks at each call, so a step may change the Stripe budget. */
  config: Config;
  pool: pg.Pool;
  services: Services;
  hyperswitch: FakeHyperswitch;
  stripe: StripeControls;
  completion: Completion;
  platformToken: string;
  stop(): Promise<void>;
}

export async function startHarness(options: {
  url: string;
  logger: Logger;
  pspLatencyMs: number;
  env?: Record<string, string>;
}): Promise<Harness> {
  const stripe = await startStripeProcess();
  const config: Config = {
    ...loadConfig({
      // Unlimited for the flows; the rate-limit step sets its own.
      STRIPE_MAX_REQUESTS_PER_SECOND: "10000",
      STRIPE_SECRET_KEY: "sk_test_settle_bench",
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      JWT_SECRET: "settle-bench-only-secret-0123456789abcdef",
      ...options.env,
    }),
    port: 0,
  };
  const pool = new pg.Pool({ connectionString: options.url, max: 4 });
  pool.on("error", () => {});
  const completion = await listenForCompletion(options.url);
  const services = await openServices({
    config,
    connectionString: options.url,
    logger: options.logger,
  });
  const app: App = createApp({
    config,
    connectionString: options.url,
    logger: options.logger,
    services,
  });
  const { port } = await app.start();
  const hyperswitch = services.psps.fakes.hyperswitch;
  if (!hyperswitch) throw new Error("the bench runs against the fake PSPs only");
  hyperswitch.setConditions({ latencyMs: options.pspLatencyMs });
  await stripe.setConditions({ latencyMs: options.pspLatencyMs });
  await stripe.deliverWebhooksTo(`http://127.0.0.1:${port}/webhooks/stripe`);
  // A synchronous connector: the refund's outcome (and its webhook) comes with the create.
  hyperswitch.configureRefunds({ mode: "immediate", outcome: "succeeded" });
  const platformToken = await new SignJWT({ role: "settle_platform" })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(config.jwtSecret));
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    pool,
    services,
    hyperswitch,
    stripe,
    completion,
    platformToken,
    async stop() {
      // The fakes' webhooks still on their way (thousands after the flows) would
      // hold Settle's pool while it shuts down: a job completion then waited for a
      // connection past the pool's end and crashed the bench in its next step.
      const drained = Promise.all([hyperswitch.webhooks.drain(), stripe.drainWebhooks()]);
      await Promise.race([drained, new Promise((r) => setTimeout(r, 60_000).unref())]);
      await app.stop();
      await services.stop();
      await completion.dropTriggers();
      await completion.close();
      await pool.end();
      await stripe.stop();
    },
  };
}

/** A GraphQL call; throws on any error so that a failed operation never counts as done. */
export async function graphql<T>(
  h: Pick<Harness, "url" | "platformToken">,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`${h.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${h.platformToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors?.length || !body.data) {
    throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}
