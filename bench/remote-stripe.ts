/**
 * The bench's handle on the fake Stripe running in its own process
 * (bench/stripe-process.ts): started as a child, driven through its /__fake/…
 * control calls, the same ones a developer uses against `npx settle fake-psp`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ConditionsInput, ConditionsState } from "../src/psp/fake/conditions.ts";
import type { RecordedRequest } from "../src/psp/fake/server.ts";

export interface StripeControls {
  readonly url: string;
  readonly webhookSecret: string;
  setConditions(input: ConditionsInput): Promise<ConditionsState>;
  conditions(): Promise<ConditionsState>;
  requests(filter: { method?: string; path?: RegExp }): Promise<RecordedRequest[]>;
  clearRequests(): Promise<void>;
  deliverWebhooksTo(url: string): Promise<void>;
  /** Waits until every webhook the fake has queued was delivered (or gave up). */
  drainWebhooks(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStripeProcess(): Promise<StripeControls> {
  const entry = fileURLToPath(new URL("./stripe-process.ts", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", entry], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the fake Stripe process exited (${code})`)));
  });
  const { url, webhookSecret } = JSON.parse(first) as { url: string; webhookSecret: string };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/__fake/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok)
      throw new Error(`fake Stripe ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    url,
    webhookSecret,
    setConditions: async (input) =>
      (await call<{ conditions: ConditionsState }>("POST", "conditions", input)).conditions,
    conditions: async () =>
      (await call<{ conditions: ConditionsState }>("GET", "conditions")).conditions,
    requests: async (filter) => {
      const query = new URLSearchParams();
      if (filter.method) query.set("method", filter.method);
      if (filter.path) query.set("path", filter.path.source);
      return (await call<{ requests: RecordedRequest[] }>("GET", `requests?${query}`)).requests;
    },
    clearRequests: async () => {
      await call("DELETE", "requests");
    },
    deliverWebhooksTo: async (to) => {
      await call("POST", "webhooks", { url: to });
    },
    drainWebhooks: async () => {
      await call("POST", "webhooks/drain");
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin?.end();
      await exited;
    },
  };
}
