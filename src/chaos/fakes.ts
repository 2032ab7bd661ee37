/**
 * The fake PSPs in a process of their own (`settle fake-psp`), so that the API and
 * every worker talk to the same fakes, and the run's client of their `/__fake/…`
 * control calls (never faulted: faults apply to the PSP API only).
 */
import { freePort } from "./database.ts";
import { type ServiceProcess, spawnService } from "./processes.ts";

export interface FakeControl {
  readonly url: string;
  call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T>;
}

export function fakeControl(url: string): FakeControl {
  return {
    url,
    async call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown) {
      const response = await fetch(`${url}/__fake/${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok)
        throw new Error(`${method} ${url}/__fake/${path}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

export interface FakePsps {
  process: ServiceProcess;
  hyperswitch: FakeControl;
  stripe: FakeControl;
  /** What Settle's processes need to reach them. */
  env: Record<string, string>;
}

export async function startFakePsps(options: {
  seed: number;
  apiUrl: string;
  env: NodeJS.ProcessEnv;
}): Promise<FakePsps> {
  const hyperswitchPort = await freePort();
  const stripePort = await freePort();
  const process = await spawnService({
    name: "fake-psp",
    entry: "src/cli/main.ts",
    args: [
      "fake-psp",
      "--hyperswitch-port",
      String(hyperswitchPort),
      "--stripe-port",
      String(stripePort),
      "--hyperswitch-webhooks",
      `${options.apiUrl}/webhooks/hyperswitch`,
      "--stripe-webhooks",
      `${options.apiUrl}/webhooks/stripe`,
      "--seed",
      String(options.seed),
    ],
    env: { ...options.env, LOG_LEVEL: "warn" },
    ready: /fake Stripe\s+on /,
  });
  const output = process.tail(40);
  const setting = (name: string) => {
    const match = new RegExp(`${name}=(\\S+)`).exec(output);
    if (!match?.[1]) throw new Error(`settle fake-psp did not print ${name}:\n${output}`);
    return match[1];
  };
  const env = {
    HYPERSWITCH_BASE_URL: setting("HYPERSWITCH_BASE_URL"),
    HYPERSWITCH_API_KEY: setting("HYPERSWITCH_API_KEY"),
    HYPERSWITCH_WEBHOOK_SECRET: setting("HYPERSWITCH_WEBHOOK_SECRET"),
    STRIPE_SECRET_KEY: "sk_test_chaos",
    STRIPE_API_BASE: setting("STRIPE_API_BASE"),
    STRIPE_WEBHOOK_SECRET: setting("STRIPE_WEBHOOK_SECRET"),
  };
  return {
    process,
    hyperswitch: fakeControl(env.HYPERSWITCH_BASE_URL),
    stripe: fakeControl(env.STRIPE_API_BASE),
    env,
  };
}
