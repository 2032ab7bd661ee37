/**
 * A worker started by the stock CLI talks to the PSPs named by the environment.
 * In-process fakes (what `npm start` uses without credentials) would be useless
 * here: the API process that created the payments runs fakes of its own, which
 * this process cannot see, so every transfer would go to an empty fake Stripe.
 * Unless the operator opts in, missing credentials stop the start-up instead.
 */
import type { Config } from "../../config.ts";

/** Set to 1 to run against fakes started in this process anyway (e.g. a smoke test). */
export const ALLOW_FAKE_PSPS = "SETTLE_ALLOW_FAKE_PSPS";

export function assertPspsConfigured(config: Config, env: NodeJS.ProcessEnv): void {
  if (env[ALLOW_FAKE_PSPS] === "1") return;
  const missing = [
    config.hyperswitch
      ? null
      : "HYPERSWITCH_BASE_URL, HYPERSWITCH_API_KEY, HYPERSWITCH_WEBHOOK_SECRET",
    config.stripe
      ? null
      : "STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET (and STRIPE_API_BASE for a non-Stripe host)",
  ].filter((names) => names !== null);
  if (missing.length === 0) return;
  throw new Error(
    `PSP credentials unset: ${missing.join("; ")}. The stock graphile-worker CLI does not start ` +
      "fake PSPs of its own (the API would not share them): set the variables (e.g. to the " +
      `servers of \`npx settle fake-psp\`), or set ${ALLOW_FAKE_PSPS}=1 to run against ` +
      "fakes in this process anyway.",
  );
}
