/**
 * `settle fake-psp`: the fake Hyperswitch and the fake Stripe alone, on fixed
 * ports, for local development against the real clients (e.g. stripe-node with
 * host/port/protocol, or Settle itself with HYPERSWITCH_BASE_URL / STRIPE_API_BASE
 * pointing here). Runs until SIGINT/SIGTERM.
 */
import { once } from "node:events";
import { Command, InvalidArgumentError } from "commander";
import { logger } from "../log.ts";
import { seededRandom } from "../psp/fake/seeded-random.ts";
import { startFakeHyperswitch } from "../psp/hyperswitch/fake/index.ts";
import { startFakeStripe } from "../psp/stripe/fake/index.ts";

const port = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError("must be a port number 1-65535");
  }
  return n;
};

const seed = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
    throw new InvalidArgumentError("must be an integer 0-4294967295");
  }
  return Number(value);
};

const url = (value: string) => {
  try {
    return new URL(value).toString();
  } catch {
    throw new InvalidArgumentError("must be a URL, e.g. http://127.0.0.1:4000/webhooks/stripe");
  }
};

export function fakePspCommand(): Command {
  return new Command("fake-psp")
    .description("Run the fake Hyperswitch and fake Stripe servers on loopback until interrupted.")
    .requiredOption("--hyperswitch-port <port>", "port of the fake Hyperswitch", port)
    .requiredOption("--stripe-port <port>", "port of the fake Stripe", port)
    .option("--hyperswitch-webhooks <url>", "where the fake Hyperswitch delivers its webhooks", url)
    .option("--stripe-webhooks <url>", "where the fake Stripe delivers its webhooks", url)
    .option(
      "--seed <n>",
      "seed of the fakes' random choices (probabilistic faults, webhook chaos), to repeat a run",
      seed,
    )
    .action(
      async (options: {
        hyperswitchPort: number;
        stripePort: number;
        hyperswitchWebhooks?: string;
        stripeWebhooks?: string;
        seed?: number;
      }) => {
        const log = logger.child({ command: "fake-psp" });
        // One stream per fake: what one fake draws does not shift the other's choices.
        const random = (n: number) =>
          options.seed === undefined ? undefined : seededRandom(options.seed * 2 + n);
        const hyperswitch = await startFakeHyperswitch({
          port: options.hyperswitchPort,
          logger: log,
          random: random(0),
        });
        const stripe = await startFakeStripe({
          port: options.stripePort,
          logger: log,
          random: random(1),
        }).catch(async (error: unknown) => {
          await hyperswitch.close();
          throw error;
        });
        if (options.hyperswitchWebhooks)
          hyperswitch.webhooks.configure({ url: options.hyperswitchWebhooks });
        if (options.stripeWebhooks) stripe.webhooks.configure({ url: options.stripeWebhooks });
        console.log(
          [
            `fake Hyperswitch on ${hyperswitch.url}  (webhooks to ${options.hyperswitchWebhooks ?? "nowhere: --hyperswitch-webhooks"})`,
            `fake Stripe      on ${stripe.url}  (webhooks to ${options.stripeWebhooks ?? "nowhere: --stripe-webhooks"})`,
            "",
            "Point Settle at them with:",
            `  HYPERSWITCH_BASE_URL=${hyperswitch.url}`,
            `  HYPERSWITCH_API_KEY=${hyperswitch.apiKey}`,
            `  HYPERSWITCH_WEBHOOK_SECRET=${hyperswitch.webhookSecret}`,
            "  STRIPE_SECRET_KEY=sk_test_fake",
            `  STRIPE_API_BASE=${stripe.url}`,
            `  STRIPE_WEBHOOK_SECRET=${stripe.webhookSecret}`,
            "",
            "Inspect what they received at /__fake/requests; inject faults by POST /__fake/faults. Ctrl-C stops.",
          ].join("\n"),
        );
        await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
        await Promise.all([hyperswitch.close(), stripe.close()]);
        console.log("fake PSPs stopped");
      },
    );
}
