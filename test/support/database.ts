/**
 * Per-file (or per-test) databases cloned from the run's migrated template.
 * The runner (test/run.ts, i.e. `npm test`) provides the cluster through env.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export interface TestDatabase {
  /** Connection string as the cluster superuser (the owner of everything, like the migrator). */
  url: string;
  name: string;
  drop(): Promise<void>;
}

function clusterEnv(): { adminUrl: string; template: string } {
  const adminUrl = process.env.SETTLE_TEST_ADMIN_URL;
  const template = process.env.SETTLE_TEST_TEMPLATE;
  if (!adminUrl || !template) {
    throw new Error("Test databases come from the runner: run the suite with `npm test`.");
  }
  return { adminUrl, template };
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template } = clusterEnv();
  const name = `settle_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `create database ${admin.escapeIdentifier(name)} template ${admin.escapeIdentifier(template)}`,
    );
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        // pool.end() resolves before its sockets are closed; a forced drop would
        // then terminate connections whose clients still listen, and their error
        // would crash the test process. Let them go first (bounded), then force.
        for (let i = 0; i < 40; i++) {
          const { rows } = await client.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = $1",
            [name],
          );
          if (rows[0]?.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
