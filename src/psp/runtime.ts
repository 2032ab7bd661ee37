/**
 * The PSPs this process talks to: the real ones when their credentials are
 * configured, otherwise the fake servers started here on loopback (SPEC §2: with
 * no PSP credentials, `npm start` runs against in-process fakes and says so). The
 * clients do not know the difference: a fake is only another base URL.
 */
import "reflect-metadata";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { HyperswitchClient } from "./hyperswitch/client.ts";
import { type FakeHyperswitch, startFakeHyperswitch } from "./hyperswitch/fake/index.ts";
import { type FakeStripe, startFakeStripe } from "./stripe/fake/index.ts";
import { StripeService } from "./stripe/service.ts";

export interface Psps {
  hyperswitch: HyperswitchClient;
  hyperswitchWebhookSecret: string;
  stripe: StripeService;
  stripeWebhookSecret: string;
  /** The fakes started for this process (none when both PSPs are real). */
  fakes: { hyperswitch?: FakeHyperswitch; stripe?: FakeStripe };
  /** Tells the fakes where our webhook endpoints are, once the server listens. */
  deliverWebhooksTo(baseUrl: string): void;
  stop(): Promise<void>;
}

/** The secret key stripe-node presents to the fake (it checks the `sk_` form only). */
const FAKE_STRIPE_SECRET_KEY = "sk_test_settle_fake";

export async function startPsps(config: Config, logger: Logger): Promise<Psps> {
  const fakes: Psps["fakes"] = {};
  const timeoutMs = config.pspTimeoutMs;
  try {
    let hyperswitchOptions = config.hyperswitch;
    if (!hyperswitchOptions) {
      const fake = await startFakeHyperswitch({ logger });
      // Refunds settle by themselves a moment later, as a connector would.
      fake.configureRefunds({ mode: "after_delay", delayMs: 500, outcome: "succeeded" });
      fakes.hyperswitch = fake;
      hyperswitchOptions = {
        baseUrl: fake.url,
        apiKey: fake.apiKey,
        webhookSecret: fake.webhookSecret,
      };
    }
    let stripeOptions = config.stripe;
    if (!stripeOptions) {
      const fake = await startFakeStripe({ logger });
      fakes.stripe = fake;
      stripeOptions = {
        secretKey: FAKE_STRIPE_SECRET_KEY,
        apiBase: fake.url,
        webhookSecret: fake.webhookSecret,
      };
    }
    const hyperswitch = new HyperswitchClient({
      baseUrl: hyperswitchOptions.baseUrl,
      apiKey: hyperswitchOptions.apiKey,
      timeoutMs,
      logger,
    });
    const stripe = new StripeService(
      { secretKey: stripeOptions.secretKey, apiBase: stripeOptions.apiBase, timeoutMs, logger },
      Date.now,
    );
    if (fakes.hyperswitch || fakes.stripe) {
      logger.warn(
        {
          hyperswitch: fakes.hyperswitch?.url ?? "real (HYPERSWITCH_BASE_URL)",
          stripe: fakes.stripe?.url ?? "real (STRIPE_API_BASE)",
        },
        "PSP credentials unset: running against FAKE PSPs started in this process; no real money moves",
      );
    }
    return {
      hyperswitch,
      hyperswitchWebhookSecret: hyperswitchOptions.webhookSecret,
      stripe,
      stripeWebhookSecret: stripeOptions.webhookSecret,
      fakes,
      deliverWebhooksTo(baseUrl) {
        fakes.hyperswitch?.webhooks.configure({ url: `${baseUrl}/webhooks/hyperswitch` });
        fakes.stripe?.webhooks.configure({ url: `${baseUrl}/webhooks/stripe` });
      },
      stop: () => closeFakes(fakes),
    };
  } catch (error) {
    await closeFakes(fakes);
    throw error;
  }
}

async function closeFakes(fakes: Psps["fakes"]): Promise<void> {
  await Promise.all([fakes.hyperswitch?.close(), fakes.stripe?.close()]);
}
