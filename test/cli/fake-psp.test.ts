/**
 * `npx settle fake-psp`: both fakes on the given ports, usable by the real clients,
 * stopped cleanly by SIGINT; bad usage exits 2 with a message naming the option.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import Stripe from "stripe";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const BIN = resolve(ROOT, "bin/settle.mjs");

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

function run(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

test("fake-psp serves both fakes until SIGINT; stripe-node and plain HTTP work against them", async (t) => {
  t.timeout(60_000);
  const [hs, st] = [await freePort(), await freePort()];
  const { child, output } = run([
    "fake-psp",
    "--hyperswitch-port",
    String(hs),
    "--stripe-port",
    String(st),
  ]);
  t.teardown(() => child.kill("SIGKILL"));
  const deadline = Date.now() + 30_000;
  while (!output().includes("Ctrl-C stops") && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
  }
  t.regex(output(), new RegExp(`HYPERSWITCH_BASE_URL=http://127\\.0\\.0\\.1:${hs}`));
  t.regex(output(), new RegExp(`STRIPE_API_BASE=http://127\\.0\\.0\\.1:${st}`));

  const stripe = new Stripe("sk_test_cli", {
    host: "127.0.0.1",
    port: st,
    protocol: "http",
    maxNetworkRetries: 0,
  });
  const params = {
    amount: 500,
    currency: "eur",
    destination: "acct_cli1",
    transfer_group: "order_1",
  };
  const first = await stripe.transfers.create(params, { idempotencyKey: "key-1" });
  const again = await stripe.transfers.create(params, { idempotencyKey: "key-1" });
  t.is(again.id, first.id);
  t.regex(first.id, /^tr_/);

  const payment = await fetch(`http://127.0.0.1:${hs}/payments`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": "snd_fake_hyperswitch" },
    body: JSON.stringify({ amount: 100, currency: "EUR", payment_id: "cli-pay-1" }),
  });
  t.is(payment.status, 200);
  t.truthy(((await payment.json()) as { client_secret?: string }).client_secret);

  const exited = once(child, "exit");
  child.kill("SIGINT");
  t.is((await exited)[0], 0, output());
  t.regex(output(), /fake PSPs stopped/);
});

test("bad usage exits 2 and names the option", async (t) => {
  const { child, output } = run(["fake-psp", "--hyperswitch-port", "99999", "--stripe-port", "1"]);
  const [code] = await once(child, "exit");
  t.is(code, 2);
  t.regex(
    output(),
    /--hyperswitch-port <port>' argument '99999' is invalid\. must be a port number 1-65535/,
  );
  const missing = run(["fake-psp", "--hyperswitch-port", "1"]);
  t.is((await once(missing.child, "exit"))[0], 2);
  t.regex(missing.output(), /required option '--stripe-port <port>' not specified/);
});
