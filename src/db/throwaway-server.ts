/**
 * A PostgreSQL server for one run of a tool (the tests, the benchmarks): the server
 * of DATABASE_URL when set (the caller creates and drops its own databases there),
 * else an embedded cluster in a fresh temporary directory that stop() deletes.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

export interface ThrowawayServer {
  /** A superuser connection string to the server's maintenance database. */
  adminUrl: string;
  /** True for DATABASE_URL: a shared server, where only what the run created may go. */
  external: boolean;
  /** The embedded cluster's port; null for DATABASE_URL. */
  port: number | null;
  /** Stops and deletes the embedded cluster; nothing for DATABASE_URL. */
  stop(): Promise<void>;
}

export async function openThrowawayServer(options: {
  /** The temporary directory's prefix, e.g. `settle-test-`. */
  prefix: string;
  /** fsync off: faster, not what production runs. */
  unsafeFast: boolean;
  logger: Logger;
}): Promise<ThrowawayServer> {
  const external = process.env.DATABASE_URL;
  if (external) return { adminUrl: external, external: true, port: null, stop: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  await chmod(dir, 0o755); // the cluster may run as OS user `postgres`
  const server = await startEmbeddedPostgres({
    dataDir: join(dir, "pg"),
    persistent: false,
    unsafeFast: options.unsafeFast,
    logger: options.logger,
  });
  return {
    adminUrl: server.adminUrl,
    external: false,
    port: server.port,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
