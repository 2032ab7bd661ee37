/**
 * The fake Stripe in a process of its own, for the bench: its token bucket then
 * sees requests when they arrive, not when Settle's busy event loop gets round
 * to them (in-process, a stall of the shared loop bunches arrivals that were
 * paced correctly, and the rate-limit step measured the fake, not the client).
 * Prints its URL on the first line of stdout; stops when stdin closes (the bench
 * exited, even abruptly).
 */
import { startFakeStripe } from "../src/psp/stripe/fake/index.ts";

const stripe = await startFakeStripe();
process.stdout.write(
  `${JSON.stringify({ url: stripe.url, webhookSecret: stripe.webhookSecret })}\n`,
);
process.stdin.resume();
process.stdin.on("end", () => {
  void stripe.close().then(() => process.exit(0));
});
process.on("SIGTERM", () => {
  void stripe.close().then(() => process.exit(0));
});
