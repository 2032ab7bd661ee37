/**
 * `npm run migrate` is idempotent: on an empty database it installs everything, a
 * second run changes nothing, and the status check agrees.
 */
import { randomBytes } from "node:crypto";
import test from "ava";
import pg from "pg";
import { migrate, migrationStatus } from "../../src/db/migrate.ts";
import { logger } from "../../src/log.ts";

async function withEmptyDatabase(fn: (url: string) => Promise<void>) {
  const adminUrl = process.env.SETTLE_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error("run the suite with `npm test`");
  const name = `settle_migrate_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template template0`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    await fn(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function snapshot(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const objects = await client.query(`
      select n.nspname || '.' || c.relname as name, c.relkind::text as kind from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('settle', 'settle_private', 'ops', 'graphile_worker', 'graphile_migrate') order by 1`);
    const migrations = await client.query(
      "select filename, hash from graphile_migrate.migrations order by filename",
    );
    const status = await migrationStatus(client);
    return { objects: objects.rows, migrations: migrations.rows, status };
  } finally {
    await client.end();
  }
}

test("migrating twice: the first run installs everything, the second is a no-op", async (t) => {
  await withEmptyDatabase(async (url) => {
    await migrate(url, logger);
    const first = await snapshot(url);
    t.true(first.status.current);
    t.true(first.migrations.length >= 18);
    t.true(first.objects.some((o) => o.name === "settle.orders"));
    t.true(first.objects.some((o) => o.name === "ops.money_invariants"));
    t.true(first.objects.some((o) => o.name.startsWith("graphile_worker.")));
    await migrate(url, logger);
    t.deepEqual(await snapshot(url), first);
  });
});

test("a database behind the build's migrations is reported as not current", async (t) => {
  await withEmptyDatabase(async (url) => {
    await migrate(url, logger);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(
        "delete from graphile_migrate.migrations where filename = (select max(filename) from graphile_migrate.migrations)",
      );
      const status = await migrationStatus(client);
      t.false(status.current);
      t.not(status.applied, status.expected);
    } finally {
      await client.end();
    }
  });
});
