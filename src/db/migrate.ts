/**
 * Schema migrations: graphile-worker's own schema first (our SQL enqueues jobs
 * through graphile_worker.add_job), then our committed migrations in `sql/committed`
 * through graphile-migrate. Both are idempotent: a second run is a no-op, and both
 * take an advisory lock, so concurrent starts do not race.
 */
import { readdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Logger as GraphileLogger } from "@graphile/logger";
import { migrate as graphileMigrate } from "graphile-migrate";
import { clearAllPools } from "graphile-migrate/dist/pgReal.js";
import { runMigrations as runWorkerMigrations } from "graphile-worker";
import pg from "pg";
import type { Logger } from "../log.ts";
import { graphileLogger } from "../worker.ts";

export const SQL_DIR = resolve(fileURLToPath(import.meta.url), "../../../sql");

export async function migrate(connectionString: string, logger: Logger): Promise<void> {
  const log = logger.child({ component: "migrate" });
  await runWorkerMigrations({ connectionString, logger: graphileLogger(log) });
  await graphileMigrate({
    connectionString,
    migrationsFolder: SQL_DIR,
    logger: new GraphileLogger((scope) => (level, message) => {
      log[level === "error" ? "error" : level === "warning" ? "warn" : "info"]({ scope }, message);
    }),
  });
  // graphile-migrate keeps its pool a moment after use and calls process.exit(1) if
  // an idle connection of it is terminated (a database dropped or restarted right
  // after migrating). Close it now: a finished migration must not be able to kill us.
  clearAllPools();
}

export interface MigrationStatus {
  /** Hash of the last committed migration file shipped with this build. */
  expected: string | null;
  /** Hash of the last migration applied to the database (null: none). */
  applied: string | null;
  current: boolean;
}

/** Whether the database carries every migration of this build (for /health/ready). */
export async function migrationStatus(client: pg.ClientBase): Promise<MigrationStatus> {
  const expected = await lastCommittedHash();
  const { rows } = await client.query<{ hash: string }>(
    `select hash from graphile_migrate.migrations order by filename desc limit 1`,
  );
  const applied = rows[0]?.hash ?? null;
  return { expected, applied, current: expected !== null && expected === applied };
}

let lastHash: Promise<string | null> | undefined;
function lastCommittedHash(): Promise<string | null> {
  lastHash ??= (async () => {
    const dir = resolve(SQL_DIR, "committed");
    const files = (await readdir(dir)).filter((f) => /^\d+(-[-\w]+)?\.sql$/.test(f)).sort();
    const last = files.at(-1);
    if (!last) return null;
    const text = await readFile(resolve(dir, last), "utf8");
    return /^--! Hash: (\S+)$/m.exec(text)?.[1] ?? null;
  })();
  return lastHash;
}

/**
 * Refuses to run jobs against a schema older (or newer) than this build: a worker
 * that does not migrate (npm run worker, the stock graphile-worker CLI) names the
 * fix instead of failing every job on a missing column.
 */
export async function assertMigrated(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const status = await migrationStatus(client).catch(() => null);
    if (!status?.current) {
      throw new Error(
        `the database is not migrated to this build (at ${status?.applied ?? "no migration"}, ` +
          `expected ${status?.expected ?? "unknown"}): run \`npm run migrate\` or \`npm start\` first`,
      );
    }
  } finally {
    await client.end();
  }
}
