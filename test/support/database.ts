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
        await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
