/**
 * What the operator commands share: the validated configuration (the operator's
 * kind: no server secrets required, see OperatorConfig), the database
 * (DATABASE_URL, or the embedded cluster of SETTLE_DATA_DIR), checked to be at
 * this build's migration before anything reads or writes it, and one small typed
 * pool. `close()` ends the pool and stops an embedded cluster this process started.
 */
import { loadOperatorConfig, type OperatorConfig } from "../config.ts";
import { openDatabase } from "../database.ts";
import { assertMigrated } from "../db/migrate.ts";
import { createSlonikPool, type DatabasePool } from "../db/slonik.ts";
import { type Logger, logger } from "../log.ts";

export interface Session {
  config: Readonly<OperatorConfig>;
  db: DatabasePool;
  log: Logger;
  close(): Promise<void>;
}

export async function openSession(command: string): Promise<Session> {
  const config = loadOperatorConfig();
  // Warnings and worse only: the command's own output is what the operator reads.
  const log = logger.child(
    { command },
    { level: config.logLevel === "silent" ? "silent" : "warn" },
  );
  const database = await openDatabase(config, log);
  try {
    await assertMigrated(database.url);
    const db = await createSlonikPool(database.url, { maximumPoolSize: 2, logger: log });
    return {
      config,
      db,
      log,
      async close() {
        await db.end();
        await database.stop();
      },
    };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

/** Runs `body` with a session, closing it whatever happens. */
export async function withSession<T>(
  command: string,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(command);
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}
