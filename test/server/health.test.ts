/**
 * SPEC §6 probes: /health/live while the process runs; /health/ready only when the
 * database answers, carries this build's migrations, and the worker runs; /metrics
 * in Prometheus text with the pipeline's rows.
 */
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { checkReadiness } from "../../src/http/readiness.ts";
import { insertBuyer, insertOrder, insertSeller } from "../support/sql.ts";
import { type RunningApp, startTestApp } from "./helpers.ts";

const test = anyTest as TestFn<{ running: RunningApp }>;

test.before(async (t) => {
  t.context.running = await startTestApp();
});

test.after.always(async (t) => {
  await t.context.running?.stop();
});

interface ReadyBody {
  status: string;
  failed?: string[];
  checks: Record<string, { ok: boolean; detail?: string }>;
}

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

async function withClient<R>(url: string, fn: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

test.serial("live answers 200 while the process runs", async (t) => {
  const live = await get(`${t.context.running.url}/health/live`);
  t.is(live.status, 200);
  t.deepEqual(JSON.parse(live.text), { status: "ok" });
});

test.serial("ready answers 200 once started on a migrated database", async (t) => {
  const ready = await get(`${t.context.running.url}/health/ready`);
  t.is(ready.status, 200, ready.text);
  t.regex(ready.type, /application\/json/);
  const body = JSON.parse(ready.text) as ReadyBody;
  t.is(body.status, "ok");
  t.deepEqual(body.checks, {
    database: { ok: true },
    migrations: { ok: true },
    worker: { ok: true },
  });
});

test.serial(
  "ready answers 503 naming the migrations when the database is behind this build",
  async (t) => {
    const { running } = t.context;
    // Pretend the last migration of this build was never applied.
    const removed = await withClient(running.db.url, async (client) => {
      const { rows } = await client.query(
        `delete from graphile_migrate.migrations
        where filename = (select max(filename) from graphile_migrate.migrations) returning *`,
      );
      return rows[0] as Record<string, unknown>;
    });
    try {
      const ready = await get(`${running.url}/health/ready`);
      t.is(ready.status, 503);
      const body = JSON.parse(ready.text) as ReadyBody;
      t.is(body.status, "unavailable");
      t.deepEqual(body.failed, ["migrations"]);
      t.regex(body.checks.migrations?.detail ?? "", /this build expects sha1:/);
    } finally {
      await withClient(running.db.url, (client) =>
        client.query(
          "insert into graphile_migrate.migrations (hash, previous_hash, filename, date) values ($1, $2, $3, $4)",
          [removed.hash, removed.previous_hash, removed.filename, removed.date],
        ),
      );
    }
    t.is((await get(`${running.url}/health/ready`)).status, 200, "ready again once current");
  },
);

test.serial(
  "metrics: Prometheus text with process metrics, the worker and rows per status",
  async (t) => {
    const { running } = t.context;
    const pool = new pg.Pool({ connectionString: running.db.url, max: 2 });
    try {
      const buyer = await insertBuyer(pool);
      const seller = await insertSeller(pool);
      await insertOrder(pool, buyer, [{ sellerId: seller, amount: 700 }]);
      await insertOrder(pool, buyer, [{ sellerId: seller, amount: 300 }]);
    } finally {
      await pool.end();
    }
    const metrics = await get(`${running.url}/metrics`);
    t.is(metrics.status, 200);
    t.regex(metrics.type, /^text\/plain; version=0\.0\.4/);
    t.regex(metrics.text, /^# TYPE settle_rows gauge$/m);
    t.regex(metrics.text, /^settle_rows\{entity="orders",status="pending"\} 2$/m);
    t.regex(metrics.text, /^settle_worker_alive 1$/m);
    t.regex(metrics.text, /^process_cpu_user_seconds_total /m);
    // The backlog: two pending orders, the oldest a moment old.
    t.regex(metrics.text, /^settle_backlog_rows\{entity="orders",status="pending"\} 2$/m);
    t.regex(
      metrics.text,
      /^settle_backlog_oldest_seconds\{entity="orders",status="pending"\} \d+$/m,
    );
    t.regex(metrics.text, /^# TYPE settle_jobs gauge$/m);
  },
);

test.serial("probes accept only GET and HEAD", async (t) => {
  const response = await fetch(`${t.context.running.url}/health/ready`, { method: "POST" });
  t.is(response.status, 405);
  t.is(response.headers.get("allow"), "GET, HEAD");
});

test.serial("readiness fails on the worker when the runner is not running", async (t) => {
  const pool = new pg.Pool({ connectionString: t.context.running.db.url, max: 1 });
  try {
    const readiness = await checkReadiness({ pool, workerAlive: () => false });
    t.false(readiness.ready);
    t.deepEqual(readiness.checks.worker, { ok: false, detail: "worker runner is not running" });
    t.true(readiness.checks.database.ok && readiness.checks.migrations.ok);
  } finally {
    await pool.end();
  }
});

test("ready answers 503 naming the database when it cannot be reached, and stop still completes", async (t) => {
  const running = await startTestApp();
  const admin = new pg.Client({ connectionString: process.env.SETTLE_TEST_ADMIN_URL });
  await admin.connect();
  try {
    t.is((await get(`${running.url}/health/ready`)).status, 200);
    // The database goes away under the running app: no new connections, old ones cut.
    await admin.query(
      `alter database ${admin.escapeIdentifier(running.db.name)} with allow_connections false`,
    );
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [
      running.db.name,
    ]);
    const ready = await get(`${running.url}/health/ready`);
    t.is(ready.status, 503);
    const body = JSON.parse(ready.text) as ReadyBody;
    t.true(body.failed?.includes("database"), ready.text);
    t.false(body.checks.database?.ok);
    t.truthy(body.checks.database?.detail);
    t.is(
      (await get(`${running.url}/health/live`)).status,
      200,
      "still alive: restarting would not help",
    );
  } finally {
    await running.app.stop();
    await running.db.drop();
    await admin.end();
  }
  t.false(running.app.server.listening);
});
