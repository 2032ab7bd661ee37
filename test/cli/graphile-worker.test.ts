/**
 * `npx graphile-worker …`: the stock CLI, through graphile.config.ts, runs Settle's
 * tasks against the PSPs named by the environment (here: fakes started by the
 * test, reached over HTTP like real ones) on a migrated test database:
 * --once completes a transfer whose job the database enqueued; without PSP
 * credentials it refuses to start unless SETTLE_ALLOW_FAKE_PSPS=1; paused
 * reversals leave their jobs alone; WORKER_CONCURRENCY sets how many jobs run at
 * once unless -j does; and in continuous mode the crontab's
 * sweeper line and the self-rescheduling sweeper keep exactly one sweeper job.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import pg from "pg";
import { pino } from "pino";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../src/psp/hyperswitch/fake/index.ts";
import { type FakeStripe, startFakeStripe } from "../../src/psp/stripe/fake/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { cleanEnv, start, until } from "./process.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
/** What `npx graphile-worker` runs: the package's bin, on this (Node 24) runtime. */
const CLI = resolve(ROOT, "node_modules/.bin/graphile-worker");
const JWT_SECRET = "graphile-worker-cli-test-secret-0123456789";

interface World {
  db: TestDatabase;
  pool: pg.Pool;
  hyperswitch: FakeHyperswitch;
  stripe: FakeStripe;
}

/** A database and fake PSPs of the test's own, dropped and closed after it. */
async function world(t: ExecutionContext): Promise<World> {
  const logger = pino({ level: "silent" });
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on("error", () => {});
  const hyperswitch = await startFakeHyperswitch({ logger });
  const stripe = await startFakeStripe({ logger });
  t.teardown(async () => {
    await pool.end();
    await Promise.all([hyperswitch.close(), stripe.close()]);
    await db.drop();
  });
  return { db, pool, hyperswitch, stripe };
}

/** Settle's environment for the PSPs of `w`, and nothing else of this process's. */
function pspEnv(w: World, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    // The connection comes from -c only: the config must take it from graphile-worker.
    ...cleanEnv(
      /^(DATABASE_URL|PG[A-Z]+|JWT_SECRET|HYPERSWITCH_|STRIPE_|SETTLE_|REVERSAL_|SWEEP_)/,
    ),
    HYPERSWITCH_BASE_URL: w.hyperswitch.url,
    HYPERSWITCH_API_KEY: w.hyperswitch.apiKey,
    HYPERSWITCH_WEBHOOK_SECRET: w.hyperswitch.webhookSecret,
    STRIPE_SECRET_KEY: "sk_test_graphile_worker_cli",
    STRIPE_API_BASE: w.stripe.url,
    STRIPE_WEBHOOK_SECRET: w.stripe.webhookSecret,
    JWT_SECRET,
    ...extra,
  };
}

function graphileWorker(args: string[], env: NodeJS.ProcessEnv) {
  return start(process.execPath, [CLI, ...args], { cwd: ROOT, env });
}

/**
 * An order paid as the payment webhook pays it: the database creates the seller's
 * transfer, whose trigger enqueues its seller_transfers__create job.
 */
async function paidOrder(pool: pg.Pool): Promise<{ orderId: string; transferId: string }> {
  const client = await pool.connect();
  let orderId: string;
  try {
    await client.query("begin");
    const buyer = await client.query<{ id: string }>(
      "insert into settle.buyers (email) values ('cli@example.com') returning id",
    );
    const seller = await client.query<{ id: string }>(
      "insert into settle.sellers (stripe_account_id, name) values ($1, 'CLI seller') returning id",
      [`acct_cli${randomBytes(6).toString("hex")}`],
    );
    const order = await client.query<{ id: string }>(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', 2500) returning id",
      [buyer.rows[0]!.id],
    );
    orderId = order.rows[0]!.id;
    await client.query(
      "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, 2500, 250)",
      [orderId, seller.rows[0]!.id],
    );
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
  await pool.query("update settle.orders set status = 'payment_pending' where id = $1", [orderId]);
  await pool.query("select settle_private.apply_payment_succeeded($1, $2, now())", [
    orderId,
    `pay_${orderId}`,
  ]);
  const transfer = await pool.query<{ id: string }>(
    "select id from settle.seller_transfers where order_id = $1",
    [orderId],
  );
  return { orderId, transferId: transfer.rows[0]!.id };
}

const jobs = async (pool: pg.Pool) =>
  (
    await pool.query<{
      task_identifier: string;
      key: string | null;
      attempts: number;
      run_at: Date;
    }>("select task_identifier, key, attempts, run_at from graphile_worker.jobs order by id")
  ).rows;

const transferRow = async (pool: pg.Pool, id: string) =>
  (
    await pool.query<{ status: string; stripe_transfer_id: string | null }>(
      "select status, stripe_transfer_id from settle.seller_transfers where id = $1",
      [id],
    )
  ).rows[0];

const onceCompletesATransfer = test.macro({
  title: (_, how: string) =>
    `--once ${how}runs the transfer job the database enqueued, against the PSPs of the environment, and exits 0`,
  async exec(t, _how: string, extraEnv: NodeJS.ProcessEnv) {
    t.timeout(90_000);
    const w = await world(t);
    const { orderId, transferId } = await paidOrder(w.pool);
    t.deepEqual(
      (await jobs(w.pool)).map((job) => [job.task_identifier, job.key]),
      [["seller_transfers__create", `seller_transfers:${transferId}`]],
    );

    const cli = graphileWorker(["-c", w.db.url, "--once"], pspEnv(w, extraEnv));
    const { code } = await cli.exited(60_000);

    t.is(code, 0, cli.output());
    const [made] = w.stripe.transfers();
    t.like(await transferRow(w.pool, transferId), {
      status: "completed",
      stripe_transfer_id: made?.id,
    });
    t.like(made, {
      amount: 2250,
      currency: "eur",
      transfer_group: orderId,
      metadata: { order_id: orderId, seller_transfer_id: transferId },
    });
    t.deepEqual(
      w.stripe
        .requests({ method: "POST", path: "/v1/transfers" })
        .map((r) => r.headers["idempotency-key"]),
      [transferId],
      "one POST, keyed by the row id",
    );
    t.deepEqual(await jobs(w.pool), [], "the job is done");
    const audit = await w.pool.query(
      "select actor from settle.state_transitions where entity_id = $1 and to_status = 'completed'",
      [transferId],
    );
    t.deepEqual(audit.rows, [{ actor: "task:seller_transfers__create" }]);
  },
});

test(onceCompletesATransfer, "", {});
// Someone who preloads tsx by hand gets the config and the task list through other module loaders.
test(onceCompletesATransfer, "with NODE_OPTIONS=--import=tsx ", { NODE_OPTIONS: "--import=tsx" });

test("without PSP credentials the CLI stops with a message naming them and touches no job", async (t) => {
  t.timeout(90_000);
  const w = await world(t);
  await paidOrder(w.pool);
  const env = pspEnv(w);
  for (const name of Object.keys(env)) if (/^(HYPERSWITCH_|STRIPE_)/.test(name)) delete env[name];

  const cli = graphileWorker(["-c", w.db.url, "--once"], env);
  const { code } = await cli.exited(60_000);

  t.is(code, 1, cli.output());
  t.regex(cli.output(), /PSP credentials unset: HYPERSWITCH_BASE_URL.*STRIPE_SECRET_KEY/);
  t.regex(cli.output(), /SETTLE_ALLOW_FAKE_PSPS=1/);
  t.like((await jobs(w.pool))[0], { task_identifier: "seller_transfers__create", attempts: 0 });
});

test("SETTLE_ALLOW_FAKE_PSPS=1 runs against fakes in the CLI's own process instead", async (t) => {
  t.timeout(90_000);
  const w = await world(t);
  const { transferId } = await paidOrder(w.pool);
  const env = pspEnv(w, { SETTLE_ALLOW_FAKE_PSPS: "1" });
  for (const name of Object.keys(env))
    if (/^(HYPERSWITCH_|STRIPE_|JWT_SECRET)/.test(name)) delete env[name];

  const cli = graphileWorker(["-c", w.db.url, "--once"], env);
  const { code } = await cli.exited(60_000);

  t.is(code, 0, cli.output());
  t.regex((await transferRow(w.pool, transferId))?.stripe_transfer_id ?? "", /^tr_/);
  t.deepEqual(w.stripe.transfers(), [], "the test's fake was not the one called");
});

test("REVERSAL_WORKER_ENABLED=false leaves reversal jobs waiting while the rest run", async (t) => {
  t.timeout(90_000);
  const w = await world(t);
  const { transferId } = await paidOrder(w.pool);
  // A reversal job as the database enqueues one (its row does not matter: it is not run).
  await w.pool.query(
    `select graphile_worker.add_job('transfer_reversals__reverse', json_build_object('id', gen_random_uuid()),
       job_key := 'transfer_reversals:paused', flags := array['reversals'])`,
  );

  const cli = graphileWorker(
    ["-c", w.db.url, "--once"],
    pspEnv(w, { REVERSAL_WORKER_ENABLED: "false" }),
  );
  const { code } = await cli.exited(60_000);

  t.is(code, 0, cli.output());
  t.is((await transferRow(w.pool, transferId))?.status, "completed");
  t.deepEqual(
    (await jobs(w.pool)).map((job) => [job.task_identifier, job.attempts]),
    [["transfer_reversals__reverse", 0]],
  );
});

/** The most jobs graphile-worker held locked at once while `cli` ran. */
async function mostJobsAtOnce(pool: pg.Pool, cli: ReturnType<typeof graphileWorker>) {
  let most = 0;
  while (cli.process.exitCode === null && cli.process.signalCode === null) {
    const { rows } = await pool.query<{ locked: number }>(
      "select count(*)::int as locked from graphile_worker.jobs where locked_at is not null",
    );
    most = Math.max(most, rows[0]!.locked);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return most;
}

const runsJobsAtOnce = test.macro({
  title: (_, how: string) => `--once ${how}`,
  async exec(t, _how: string, args: string[], extraEnv: NodeJS.ProcessEnv, expected: number) {
    t.timeout(120_000);
    const w = await world(t);
    for (let i = 0; i < 5; i++) await paidOrder(w.pool);
    // Each transfer waits at Stripe long enough for every free worker to take a job meanwhile.
    w.stripe.inject({
      method: "POST",
      path: "/v1/transfers",
      times: null,
      fault: { kind: "latency", ms: 2_000 },
    });

    const cli = graphileWorker(["-c", w.db.url, "--once", ...args], pspEnv(w, extraEnv));
    const most = await mostJobsAtOnce(w.pool, cli);
    const { code } = await cli.exited(60_000);

    t.is(code, 0, cli.output());
    t.is(most, expected, cli.output());
    t.is(w.stripe.transfers().length, 5, "every transfer was made");
  },
});

// SPEC §3 WORKER_CONCURRENCY, through graphile.config.ts (graphile-worker's own default is 1).
test(runsJobsAtOnce, "runs WORKER_CONCURRENCY jobs at once", [], { WORKER_CONCURRENCY: "3" }, 3);
test(
  runsJobsAtOnce,
  "-j wins over WORKER_CONCURRENCY",
  ["-j", "2"],
  { WORKER_CONCURRENCY: "3" },
  2,
);

test("an invalid WORKER_CONCURRENCY stops the CLI with a message naming it", async (t) => {
  t.timeout(60_000);
  const env = {
    ...cleanEnv(/^(DATABASE_URL|PG[A-Z]+|JWT_SECRET|HYPERSWITCH_|STRIPE_|SETTLE_)/),
    WORKER_CONCURRENCY: "0",
  };
  // Stopped before any connection: the database named here does not exist.
  const cli = graphileWorker(["-c", "postgres://nobody@127.0.0.1:1/none", "--once"], env);
  const { code } = await cli.exited(30_000);
  t.is(code, 1, cli.output());
  t.regex(cli.output(), /^Invalid configuration: WORKER_CONCURRENCY .*\(got "0"\)$/m);
});

/**
 * Runs the CLI continuously with `--crontab` until the crontab's first minute tick
 * has been processed, then stops it with SIGTERM.
 */
async function runThroughCronTick(t: ExecutionContext, w: World) {
  const cli = graphileWorker(
    ["-c", w.db.url, "--crontab", resolve(ROOT, "src/tasks/cli/crontab")],
    pspEnv(w, { SWEEP_INTERVAL: "1h" }),
  );
  t.teardown(() => cli.process.kill("SIGKILL"));
  try {
    const { transferId } = await paidOrder(w.pool);
    await until(
      "the transfer",
      async () => (await transferRow(w.pool, transferId))?.status === "completed",
      30_000,
    );
    await until(
      "the crontab's first tick",
      async () =>
        (
          await w.pool.query(
            "select 1 from graphile_worker._private_known_crontabs where identifier = 'sweeper' and last_execution is not null",
          )
        ).rowCount,
      75_000,
    );
    // The tick's job, if it added one, runs now (run_at = the tick).
    await until(
      "an idle queue",
      async () => (await jobs(w.pool)).every((job) => job.run_at > new Date()),
      15_000,
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${cli.output()}`);
  }
  cli.process.kill("SIGTERM");
  const { signal } = await cli.exited(30_000);
  // The stock CLI ends itself with the signal it got, after its graceful shutdown.
  t.is(signal, "SIGTERM", cli.output());
  t.regex(cli.output(), /Global graceful shutdown complete/);
  t.regex(cli.output(), /task names: .*'seller_transfers__create'.*'sweeper'/);
}

const sweepers = async (pool: pg.Pool) =>
  (await jobs(pool)).filter((job) => job.task_identifier === "sweeper");

test("with a sweeper waiting (the app schedules one), the crontab's tick leaves it as it is", async (t) => {
  t.timeout(150_000);
  const w = await world(t);
  // As a running service leaves it: the sweeper rescheduled itself for later.
  await w.pool.query(
    "select graphile_worker.add_job('sweeper', '{}'::json, job_key := 'sweeper', run_at := now() + interval '30 minutes')",
  );
  const [waiting] = await sweepers(w.pool);

  await runThroughCronTick(t, w);

  const after = await sweepers(w.pool);
  t.is(after.length, 1, "no second sweeper");
  t.deepEqual(after[0]?.run_at, waiting?.run_at, "not moved earlier");
  t.is(after[0]?.attempts, 0, "not run");
});

test("with no sweeper scheduled, the crontab's tick starts one, which reschedules itself", async (t) => {
  t.timeout(150_000);
  const w = await world(t);
  t.deepEqual(await sweepers(w.pool), []);

  await runThroughCronTick(t, w);

  const after = await sweepers(w.pool);
  t.is(after.length, 1, "exactly one sweeper");
  // SWEEP_INTERVAL=1h: the job waiting now is the one the sweeper added after its run.
  t.true(after[0]!.run_at.getTime() > Date.now() + 50 * 60_000, String(after[0]?.run_at));
});
