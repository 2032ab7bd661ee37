/**
 * The run's database: an embedded PostgreSQL in a throwaway directory, on a port
 * fixed for the run so that a restart (stop, then start on the same data and
 * port) is the same server to every process; or, with DATABASE_URL, a fresh
 * database on that server, which this run cannot restart (said in the report).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  type EmbeddedPostgresHandle,
  ensureDatabase,
  startEmbeddedPostgres,
} from "../db/embedded-postgres.ts";
import { migrate } from "../db/migrate.ts";
import type { Logger } from "../log.ts";

export interface ChaosDatabase {
  url: string;
  description: string;
  /** null: this database cannot be restarted by the run (DATABASE_URL). */
  restart: ((downMs: number) => Promise<void>) | null;
  stop(): Promise<void>;
}

const NAME = "settle";

export async function openChaosDatabase(logger: Logger): Promise<ChaosDatabase> {
  const external = process.env.DATABASE_URL;
  if (external) return freshDatabaseOn(external, logger);
  const dir = await mkdtemp(join(tmpdir(), "settle-chaos-"));
  await chmod(dir, 0o755); // the cluster may run as OS user `postgres`
  const dataDir = join(dir, "pg");
  const port = await freePort();
  const start = () =>
    startEmbeddedPostgres({ dataDir, port, persistent: true, unsafeFast: true, logger });
  let cluster: EmbeddedPostgresHandle | null = await start();
  const url = await ensureDatabase(cluster, NAME);
  await migrate(url, logger);
  return {
    url,
    description: `embedded PostgreSQL on port ${port}, data in ${dataDir} (deleted at the end)`,
    async restart(downMs) {
      await cluster?.stop();
      cluster = null;
      await new Promise((r) => setTimeout(r, downMs));
      cluster = await start();
    },
    async stop() {
      await cluster?.stop();
      cluster = null;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freshDatabaseOn(serverUrl: string, logger: Logger): Promise<ChaosDatabase> {
  const name = `settle_chaos_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${admin.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), logger);
  return {
    url: url.toString(),
    description: `database ${name} on the DATABASE_URL server (dropped at the end)`,
    restart: null,
    async stop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      await client.end();
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
