/**
 * One PostgreSQL for the whole test run: the embedded cluster in a throwaway
 * directory, or the server of DATABASE_URL when set (e.g. a @databases/pg-test or
 * docker-compose Postgres). The template database is migrated once; every test file
 * (or test) clones it, which takes milliseconds instead of a migration run.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "../../src/db/migrate.ts";
import { openThrowawayServer } from "../../src/db/throwaway-server.ts";
import type { Logger } from "../../src/log.ts";

export interface TestCluster {
  adminUrl: string;
  templateName: string;
  /** How the cluster was obtained, for the run's banner. */
  description: string;
  stop(): Promise<void>;
}

export async function startTestCluster(logger: Logger): Promise<TestCluster> {
  const templateName = `settle_test_template_${randomBytes(4).toString("hex")}`;
  const server = await openThrowawayServer({ prefix: "settle-test-", unsafeFast: true, logger });
  const { adminUrl, external, stop: stopServer } = server;
  const description = external
    ? `DATABASE_URL server (${new URL(adminUrl).host})`
    : `embedded PostgreSQL on port ${server.port}`;

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${admin.escapeIdentifier(templateName)}`);
    const templateUrl = new URL(adminUrl);
    templateUrl.pathname = `/${templateName}`;
    await migrate(templateUrl.toString(), logger);
    // Clones need a template nobody is connected to; the migrators' pools close
    // their idle connections a moment after use (graphile-migrate: 200 ms), and
    // terminating them instead would make graphile-migrate exit the process.
    for (let i = 0; ; i++) {
      const { rows } = await admin.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1",
        [templateName],
      );
      if (rows[0]?.n === 0) break;
      if (i === 100) throw new Error(`connections to ${templateName} stayed open after migrating`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.query(
      `alter database ${admin.escapeIdentifier(templateName)} with is_template = true`,
    );
  } finally {
    await admin.end();
  }

  return {
    adminUrl,
    templateName,
    description,
    async stop() {
      if (external) await dropTestDatabases(adminUrl, templateName);
      await stopServer();
    },
  };
}

/** On a shared server, leave nothing behind: the template and any clone a crashed file left. */
async function dropTestDatabases(adminUrl: string, templateName: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `alter database ${admin.escapeIdentifier(templateName)} with is_template = false`,
    );
    await admin.query(
      `drop database if exists ${admin.escapeIdentifier(templateName)} with (force)`,
    );
  } finally {
    await admin.end();
  }
}
