/**
 * `npm run migrate`: applies sql/ (graphile-worker's schema, then ours) to
 * DATABASE_URL, or to the embedded cluster in SETTLE_DATA_DIR when it is unset.
 * Idempotent: a second run applies nothing. Prints what it did. It needs the
 * database only: PSP settings, if set, are checked for form but not required to be
 * complete (loadOperatorConfig).
 */
import pg from "pg";
import { loadOperatorConfig } from "./config.ts";
import { openDatabase } from "./database.ts";
import { migrate, migrationStatus } from "./db/migrate.ts";
import { loadConfigOrExit } from "./lifecycle.ts";
import { logger } from "./log.ts";

const config = loadConfigOrExit(loadOperatorConfig);
logger.level = config.logLevel;

const database = await openDatabase(config, logger);
let exitCode = 0;
try {
  const before = await appliedMigrations(database.url);
  await migrate(database.url, logger);
  const after = await appliedMigrations(database.url);
  const added = after.files.filter((file) => !before.files.includes(file));
  console.log(`database: ${database.description}`);
  console.log(
    added.length > 0
      ? `applied ${added.length} migration(s): ${added.join(", ")}`
      : "already up to date: nothing applied",
  );
  console.log(
    `now at ${after.files.at(-1) ?? "(none)"} (${after.current ? "current with this build" : "NOT current with this build"})`,
  );
  if (!after.current) exitCode = 1;
} catch (error) {
  console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  await database.stop();
}
process.exit(exitCode);

async function appliedMigrations(url: string): Promise<{ files: string[]; current: boolean }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean }>(
      "select to_regclass('graphile_migrate.migrations') is not null as present",
    );
    if (!rows[0]?.present) return { files: [], current: false };
    const applied = await client.query<{ filename: string }>(
      "select filename from graphile_migrate.migrations order by filename",
    );
    const status = await migrationStatus(client);
    return { files: applied.rows.map((row) => row.filename), current: status.current };
  } finally {
    await client.end();
  }
}
