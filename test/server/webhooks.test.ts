/**
 * POST /webhooks/* (SPEC §5 "Webhooks in"): the signature is checked on the raw
 * body before anything (401, nothing stored), a verified event is stored once with
 * its processing job, a redelivery is answered 200 without a second row, and
 * malformed or oversized bodies are refused with a reason.
 */
import { createHmac } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { pino } from "pino";
import Stripe from "stripe";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { WEBHOOK_BODY_LIMIT } from "../../src/http/webhooks.ts";
import { openServices, type Services } from "../../src/services.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

interface Context {
  url: string;
  pool: pg.Pool;
  services: Services;
  stop(): Promise<void>;
}
const test = anyTest as TestFn<Context>;
const silent = pino({ level: "silent" });

test.before(async (t) => {
  const db: TestDatabase = await createTestDatabase();
  const config = { ...loadConfig({}), port: 0 };
  const services = await openServices({ config, connectionString: db.url, logger: silent });
  // No tasks: the stored events stay as the endpoint left them.
  const app = createApp({
    config,
    connectionString: db.url,
    logger: silent,
    services,
    taskList: {},
  });
  const { port } = await app.start();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  t.context = {
    url: `http://127.0.0.1:${port}`,
    pool,
    services,
    async stop() {
      await app.stop();
      await services.stop();
      await pool.end();
      await db.drop();
    },
  };
});
test.after.always((t) => t.context.stop?.());

const stored = async (t: { context: Context }, eventId: string) =>
  (
    await t.context.pool.query(
      "select e.provider, e.event_type, j.task_identifier from settle.webhook_events e left join graphile_worker.jobs j on j.key = 'webhook_events:' || e.id where e.event_id = $1",
      [eventId],
    )
  ).rows;

const hyperswitchSign = (secret: string, body: string) =>
  createHmac("sha512", secret).update(body).digest("hex");

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

test("Hyperswitch: a signed event is stored once with its job; a redelivery is 200 and stores nothing more", async (t) => {
  const secret = t.context.services.psps.hyperswitchWebhookSecret;
  const body = JSON.stringify({
    event_id: "evt_hs_1",
    event_type: "payment_succeeded",
    merchant_id: "m",
    content: {},
  });
  const first = await post(`${t.context.url}/webhooks/hyperswitch`, body, {
    "x-webhook-signature-512": hyperswitchSign(secret, body),
  });
  t.is(first.status, 200);
  t.deepEqual(await first.json(), { received: true, duplicate: false });
  const again = await post(`${t.context.url}/webhooks/hyperswitch`, body, {
    "x-webhook-signature-512": hyperswitchSign(secret, body),
  });
  t.deepEqual(await again.json(), { received: true, duplicate: true });
  t.deepEqual(await stored(t, "evt_hs_1"), [
    {
      provider: "hyperswitch",
      event_type: "payment_succeeded",
      task_identifier: "webhook_events__process",
    },
  ]);
});

test("Hyperswitch: a forged, missing or other-body signature gets 401 and stores nothing", async (t) => {
  const secret = t.context.services.psps.hyperswitchWebhookSecret;
  const body = JSON.stringify({ event_id: "evt_hs_forged", event_type: "payment_succeeded" });
  const cases: Array<Record<string, string>> = [
    {},
    { "x-webhook-signature-512": hyperswitchSign("not-the-secret", body) },
    { "x-webhook-signature-512": hyperswitchSign(secret, `${body} `) },
    { "x-webhook-signature-512": "zz" },
  ];
  for (const headers of cases) {
    const response = await post(`${t.context.url}/webhooks/hyperswitch`, body, headers);
    t.is(response.status, 401);
    t.regex(((await response.json()) as { error: string }).error, /x-webhook-signature-512/);
  }
  t.deepEqual(await stored(t, "evt_hs_forged"), []);
});

test("a signed body that is not an event is 400 with the reason; an oversized one 413; GET 405", async (t) => {
  const secret = t.context.services.psps.hyperswitchWebhookSecret;
  for (const [body, reason] of [
    ["not json", /not JSON/],
    [JSON.stringify({ event_type: "payment_succeeded" }), /event_id/],
  ] as const) {
    const response = await post(`${t.context.url}/webhooks/hyperswitch`, body, {
      "x-webhook-signature-512": hyperswitchSign(secret, body),
    });
    t.is(response.status, 400);
    t.regex(((await response.json()) as { error: string }).error, reason);
  }
  const huge = JSON.stringify({
    event_id: "evt_huge",
    event_type: "x",
    pad: "x".repeat(WEBHOOK_BODY_LIMIT),
  });
  const tooBig = await post(`${t.context.url}/webhooks/hyperswitch`, huge, {
    "x-webhook-signature-512": hyperswitchSign(secret, huge),
  });
  t.is(tooBig.status, 413);
  t.deepEqual(await stored(t, "evt_huge"), []);
  t.is((await fetch(`${t.context.url}/webhooks/hyperswitch`)).status, 405);
  t.is((await post(`${t.context.url}/webhooks/paypal`, "{}")).status, 404);
});

test("Stripe: Stripe-Signature verified (good, forged, too old), stored once", async (t) => {
  const secret = t.context.services.psps.stripeWebhookSecret;
  const payload = JSON.stringify({
    id: "evt_st_1",
    object: "event",
    type: "payout.paid",
    data: { object: {} },
  });
  const header = (timestamp?: number, key = secret) =>
    Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: key,
      ...(timestamp ? { timestamp } : {}),
    });
  const now = Math.floor(Date.now() / 1000);
  t.is(
    (
      await post(`${t.context.url}/webhooks/stripe`, payload, {
        "stripe-signature": header(now, "whsec_other"),
      })
    ).status,
    401,
  );
  t.is(
    (
      await post(`${t.context.url}/webhooks/stripe`, payload, {
        "stripe-signature": header(now - 301),
      })
    ).status,
    401,
  );
  t.is((await post(`${t.context.url}/webhooks/stripe`, payload)).status, 401);
  t.deepEqual(await stored(t, "evt_st_1"), []);
  const good = await post(`${t.context.url}/webhooks/stripe`, payload, {
    "stripe-signature": header(now),
  });
  t.is(good.status, 200);
  const again = await post(`${t.context.url}/webhooks/stripe`, payload, {
    "stripe-signature": header(now),
  });
  t.deepEqual(await again.json(), { received: true, duplicate: true });
  t.deepEqual(await stored(t, "evt_st_1"), [
    { provider: "stripe", event_type: "payout.paid", task_identifier: "webhook_events__process" },
  ]);
});

test("Stripe: a transfer.* event, which only confirms our own call, is stored processed and gets no job", async (t) => {
  const secret = t.context.services.psps.stripeWebhookSecret;
  const payload = JSON.stringify({
    id: "evt_st_tr_1",
    object: "event",
    type: "transfer.reversed",
    data: { object: {} },
  });
  const response = await post(`${t.context.url}/webhooks/stripe`, payload, {
    "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload, secret }),
  });
  t.is(response.status, 200);
  t.deepEqual(await stored(t, "evt_st_tr_1"), [
    { provider: "stripe", event_type: "transfer.reversed", task_identifier: null },
  ]);
  const { rows } = await t.context.pool.query(
    "select processed_at is not null as processed from settle.webhook_events where event_id = 'evt_st_tr_1'",
  );
  t.deepEqual(rows, [{ processed: true }]);
});
