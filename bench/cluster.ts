/**
 * The bench's database: a throwaway embedded PostgreSQL (or the server of
 * DATABASE_URL) with one freshly migrated database that every step of the run
 * shares, so the physical limits and the flows are measured on the same thing.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/db/embedded-postgres.ts";
import { migrate } from "../src/db/migrate.ts";
import type { Logger } from "../src/log.ts";

export interface BenchDatabase {
  url: string;
  /** For the results' metadata. */
  description: string;
  serverVersion: string;
  settings: Record<string, string>;
  stop(): Promise<void>;
}

export async function openBenchDatabase(options: {
  logger: Logger;
  /** fsync off: faster, not what production runs. (Default: false) */
  unsafeFast: boolean;
}): Promise<BenchDatabase> {
  const name = `settle_bench_${randomBytes(4).toString("hex")}`;
  const external = process.env.DATABASE_URL;
  let adminUrl: string;
  let stopServer = async () => {};
  let description: string;
  if (external) {
    adminUrl = external;
    description = `DATABASE_URL server (${new URL(external).host})`;
  } else {
    const dir = await mkdtemp(join(tmpdir(), "settle-bench-"));
    await chmod(dir, 0o755); // the cluster may run as OS user `postgres`
    const server = await startEmbeddedPostgres({
      dataDir: join(dir, "pg"),
      persistent: false,
      unsafeFast: options.unsafeFast,
      logger: options.logger,
    });
    adminUrl = server.adminUrl;
    description = `embedded PostgreSQL (${options.unsafeFast ? "fsync off" : "fsync on"})`;
    stopServer = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    await admin.query(`create database ${admin.escapeIdentifier(name)}`);
    await migrate(url.toString(), options.logger);
    const version = await admin.query<{ v: string }>("select version() as v");
    const settings = await admin.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings
       where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level')`,
    );
    return {
      url: url.toString(),
      description,
      serverVersion: version.rows[0]?.v ?? "unknown",
      settings: Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])),
      async stop() {
        // Connections from the run may linger a moment after their pools ended.
        await admin
          .query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`)
          .catch(() => {});
        await admin.end();
        await stopServer();
      },
    };
  } catch (error) {
    await admin.end();
    await stopServer();
    throw error;
  }
}
