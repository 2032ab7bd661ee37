/**
 * The bad day the fakes play, at `--fault-rate`: every PSP request meets one of
 * these with about that probability in all (the rules' shares add up to 1).
 *   before commit: 5xx, dropped connection, 429 lock_timeout / rate limit
 *   after commit:  5xx (Stripe saves it for the key), hang until the client's
 *                  timeout, dropped connection: the "unknown outcome"
 *   (balance_insufficient on reversals is not injected here: Stripe decides it when
 *   it executes a request, and replays a key's first answer; a fault in the shell
 *   would refuse a retry whose key already made the reversal. The run meets it for
 *   real: sellers are paid out before some refunds, so the fake's balance is short.)
 *   webhooks:      duplicates, random delays (so they overtake each other), and
 *                  (Stripe) retried deliveries while the database is down
 */
import type { FaultRuleInput as FakeRuleInput } from "../psp/fake/faults.ts";
import type { WebhookBehaviour } from "../psp/fake/webhooks.ts";
import type { FakePsps } from "./fakes.ts";

type FakeWebhookBehaviour = Partial<Omit<WebhookBehaviour, "url">>;

const STRIPE_WRITES = ["/v1/transfers", "/v1/transfers/[^/]+/reversals", "/v1/payouts"];
const HYPERSWITCH_WRITES = ["/payments", "/refunds"];

const lockTimeout = {
  error: {
    type: "invalid_request_error",
    code: "lock_timeout",
    message:
      "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
  },
};
const rateLimited = {
  error: {
    type: "invalid_request_error",
    code: "rate_limit",
    message: "Too many requests hit the API too quickly.",
  },
};

export function stripeRules(rate: number): FakeRuleInput[] {
  const rules: FakeRuleInput[] = [];
  for (const path of STRIPE_WRITES) {
    const share = (p: number) => ({ method: "POST", path, times: null, probability: rate * p });
    rules.push(
      { ...share(0.15), fault: { kind: "status", status: 500 } },
      { ...share(0.15), fault: { kind: "status", status: 500, afterCommit: true } },
      { ...share(0.1), fault: { kind: "timeout", afterCommit: true } },
      { ...share(0.1), fault: { kind: "drop" } },
      { ...share(0.15), fault: { kind: "drop", afterCommit: true } },
      { ...share(0.15), fault: { kind: "status", status: 429, body: lockTimeout } },
      { ...share(0.1), fault: { kind: "status", status: 429, body: rateLimited } },
      { ...share(0.1), fault: { kind: "latency", ms: 800 } },
    );
  }
  // The look-ups that resolve an unknown outcome fail too.
  rules.push(
    {
      method: "GET",
      path: "/v1/transfers.*",
      times: null,
      probability: rate * 0.5,
      fault: { kind: "status", status: 500 },
    },
    {
      method: "GET",
      path: "/v1/transfers.*",
      times: null,
      probability: rate * 0.3,
      fault: { kind: "drop" },
    },
  );
  return rules;
}

export function hyperswitchRules(rate: number): FakeRuleInput[] {
  const rules: FakeRuleInput[] = [];
  for (const path of HYPERSWITCH_WRITES) {
    const share = (p: number) => ({ method: "POST", path, times: null, probability: rate * p });
    rules.push(
      { ...share(0.25), fault: { kind: "status", status: 500 } },
      { ...share(0.2), fault: { kind: "status", status: 500, afterCommit: true } },
      { ...share(0.1), fault: { kind: "timeout", afterCommit: true } },
      { ...share(0.15), fault: { kind: "drop" } },
      { ...share(0.2), fault: { kind: "drop", afterCommit: true } },
      { ...share(0.1), fault: { kind: "latency", ms: 800 } },
    );
  }
  rules.push({
    method: "GET",
    path: "/(payments|refunds)/[^/]+",
    times: null,
    probability: rate * 0.5,
    fault: { kind: "status", status: 500 },
  });
  return rules;
}

export function webhookChaos(rate: number): FakeWebhookBehaviour {
  return {
    duplicateRate: Math.min(1, rate * 3),
    jitterMs: rate > 0 ? 1_500 : 0,
    // Deliveries keep trying through a database restart (about a minute in all).
    maxAttempts: 12,
    retryDelayMs: 250,
  };
}

export async function installFaults(fakes: FakePsps, rate: number): Promise<void> {
  if (rate > 0) {
    await fakes.stripe.call("POST", "faults", stripeRules(rate));
    await fakes.hyperswitch.call("POST", "faults", hyperswitchRules(rate));
  }
  await fakes.stripe.call("POST", "webhooks", webhookChaos(rate));
  await fakes.hyperswitch.call("POST", "webhooks", webhookChaos(rate));
}

/** How often each kind of fault fired, per fake (the rules count themselves). */
export async function firedFaults(fakes: FakePsps): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [name, fake] of [
    ["stripe", fakes.stripe],
    ["hyperswitch", fakes.hyperswitch],
  ] as const) {
    const { faults } = await fake.call<{
      faults: Array<{
        fired: number;
        fault: { kind: string; status?: number; afterCommit?: boolean };
      }>;
    }>("GET", "faults");
    for (const rule of faults) {
      const f = rule.fault;
      const label = `${name} ${f.kind}${f.status ? ` ${f.status}` : ""}${f.afterCommit ? " after commit" : ""}`;
      counts[label] = (counts[label] ?? 0) + rule.fired;
    }
  }
  return counts;
}
