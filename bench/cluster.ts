/**
 * The bench's database: a throwaway embedded PostgreSQL (or the server of
 * DATABASE_URL) with one freshly migrated database that every step of the run
 * shares, so the physical limits and the flows are measured on the same thing.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "../src/db/migrate.ts";
import { openThrowawayServer } from "../src/db/throwaway-server.ts";
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
  const server = await openThrowawayServer({
    prefix: "settle-bench-",
    unsafeFast: options.unsafeFast,
    logger: options.logger,
  });
  const { adminUrl, stop: stopServer } = server;
  const description = server.external
    ? `DATABASE_URL server (${new URL(adminUrl).host})`
    : `embedded PostgreSQL (${options.unsafeFast ? "fsync off" : "fsync on"})`;
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
