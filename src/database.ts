/**
 * Where the data lives, and the one pool per process. DATABASE_URL when set; else
 * the embedded PostgreSQL cluster in `<SETTLE_DATA_DIR>/pg`, which persists across
 * restarts, with its application database `settle`.
 */
import { resolve } from "node:path";
import pg from "pg";
import type { Config } from "./config.ts";
import { ensureDatabase, startEmbeddedPostgres } from "./db/embedded-postgres.ts";
import { IDLE_CONNECTION_MS } from "./db/slonik.ts";
import type { Logger } from "./log.ts";

export const EMBEDDED_DATABASE = "settle";

export interface Database {
  url: string;
  /** For logs and CLI output; carries no password. */
  description: string;
  /** Stops the embedded cluster; nothing to do for DATABASE_URL. */
  stop(): Promise<void>;
}

export async function openDatabase(
  config: Pick<Config, "databaseUrl" | "dataDir">,
  logger: Logger,
): Promise<Database> {
  if (config.databaseUrl) {
    return {
      url: config.databaseUrl,
      description: redactUrl(config.databaseUrl),
      stop: async () => {},
    };
  }
  const dataDir = resolve(config.dataDir, "pg");
  const cluster = await startEmbeddedPostgres({ dataDir, logger });
  try {
    const url = await ensureDatabase(cluster, EMBEDDED_DATABASE);
    return {
      url,
      description: `embedded PostgreSQL (${dataDir}, port ${cluster.port}, database ${EMBEDDED_DATABASE})`,
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

export interface PoolOptions {
  /** Connections: GraphQL requests and worker jobs share them. */
  max: number;
  /** For pg_stat_activity, so an operator can tell our connections apart. */
  applicationName: string;
}

/**
 * The pool shared by PostGraphile and graphile-worker. Role and JWT claims are
 * set per transaction (set_config(..., true)), so sharing carries nothing from one
 * request to the next. Timeouts are explicit so a lost database makes requests
 * and health checks fail fast instead of hanging.
 */
export function createPool(url: string, logger: Logger, options: PoolOptions): pg.Pool {
  const log = logger.child({ component: "pg-pool" });
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
    idle_in_transaction_session_timeout: 60_000,
    // Planned sessions are kept between bursts of traffic, as in the typed pool.
    idleTimeoutMillis: IDLE_CONNECTION_MS,
  });
  // Without listeners, a connection dropped while idle (server restart, failover)
  // emits 'error' with nobody listening and takes the whole process down. The
  // pool re-emits an idle client's error, so logging once, per client, is enough.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", (error: Error & { code?: string }) => {
      // Not the error object itself: node-postgres hangs the whole client on it.
      log.warn({ error: error.message, code: error.code }, "database connection lost");
    });
  });
  return pool;
}

/**
 * pool.end() resolves once every client has been asked to close, not once they
 * have; stopping the server right after would cut live sessions. Wait for the
 * pool's 'remove' events (bounded: a hung socket must not block shutdown).
 */
export async function endPool(pool: pg.Pool, timeoutMs = 5_000): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on("remove", () => {
      if (--open <= 0) resolve();
    });
    setTimeout(resolve, timeoutMs).unref();
  });
  await pool.end();
  await closed;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable database URL)";
  }
}
