/**
 * Shared by the operator CLI tests: a test database and the fake Stripe (and, when
 * asked, the fake Hyperswitch) of the test's own, `npx settle …` run as a child process against them, and legacy
 * transfers (imported completed, without their Stripe id) made with SQL.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";
import pg from "pg";
import { pino } from "pino";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../src/psp/hyperswitch/fake/index.ts";
import { type FakeStripe, startFakeStripe } from "../../src/psp/stripe/fake/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { cleanEnv, start } from "./process.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const BIN = resolve(ROOT, "bin/settle.mjs");

export interface World {
  db: TestDatabase;
  pool: pg.Pool;
  stripe: FakeStripe;
  /** Present when asked for; `settle` then passes its HYPERSWITCH_* variables. */
  hyperswitch?: FakeHyperswitch;
}

export async function world(
  t: ExecutionContext,
  options: { hyperswitch?: boolean } = {},
): Promise<World> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on("error", () => {});
  const stripe = await startFakeStripe({ logger: pino({ level: "silent" }) });
  const hyperswitch = options.hyperswitch
    ? await startFakeHyperswitch({ logger: pino({ level: "silent" }) })
    : undefined;
  t.teardown(async () => {
    await pool.end();
    await stripe.close();
    await hyperswitch?.close();
    await db.drop();
  });
  return { db, pool, stripe, ...(hyperswitch ? { hyperswitch } : {}) };
}

/** `npx settle <args>` against the world, with only the variables given here. */
export async function settle(
  w: World,
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(/^(DATABASE_URL|PG[A-Z]+|JWT_SECRET|HYPERSWITCH_|STRIPE_|SETTLE_|LOG_LEVEL)/),
    DATABASE_URL: w.db.url,
    STRIPE_SECRET_KEY: "sk_test_operator_cli",
    STRIPE_API_BASE: w.stripe.url,
    STRIPE_WEBHOOK_SECRET: w.stripe.webhookSecret,
    STRIPE_MAX_REQUESTS_PER_SECOND: "2000",
    JWT_SECRET: "operator-cli-test-secret-0123456789abcdef",
    ...(w.hyperswitch
      ? {
          HYPERSWITCH_BASE_URL: w.hyperswitch.url,
          HYPERSWITCH_API_KEY: w.hyperswitch.apiKey,
          HYPERSWITCH_WEBHOOK_SECRET: w.hyperswitch.webhookSecret,
        }
      : {}),
    ...extra,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const child = start(process.execPath, [BIN, ...args], { cwd: ROOT, env });
  const { code } = await child.exited(120_000);
  return { code, output: child.output() };
}

export interface LegacyTransfer {
  id: string;
  orderId: string;
  account: string;
  amount: number;
}

/**
 * `n` orders of one item each, spread over a few sellers, each with its seller's
 * transfer imported as completed and lacking its Stripe id (the backfill's input).
 */
export async function legacyTransfers(pool: pg.Pool, n: number): Promise<LegacyTransfer[]> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const buyer = await client.query<{ id: string }>(
      "insert into settle.buyers (email) values ($1) returning id",
      [`legacy-${randomBytes(4).toString("hex")}@example.com`],
    );
    const sellers = await client.query<{ id: string; stripe_account_id: string }>(
      `insert into settle.sellers (stripe_account_id, name)
       select 'acct_legacy' || $1 || i, 'Legacy ' || i from generate_series(1, 7) i
       returning id, stripe_account_id`,
      [randomBytes(4).toString("hex")],
    );
    const out: LegacyTransfer[] = [];
    for (let i = 0; i < n; i++) {
      const seller = sellers.rows[i % sellers.rows.length] as (typeof sellers.rows)[number];
      const amount = 1_000 + i;
      const order = await client.query<{ id: string }>(
        "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', $2) returning id",
        [buyer.rows[0]?.id, amount + 100],
      );
      const orderId = order.rows[0]?.id as string;
      await client.query(
        "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, 100)",
        [orderId, seller.id, amount + 100],
      );
      const transfer = await client.query<{ id: string }>(
        `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
         values ($1, $2, $3, 'EUR', 'completed', true) returning id`,
        [orderId, seller.id, amount],
      );
      out.push({
        id: transfer.rows[0]?.id as string,
        orderId,
        account: seller.stripe_account_id,
        amount,
      });
    }
    await client.query("commit");
    return out;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}
