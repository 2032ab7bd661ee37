/**
 * What the demo runs on: the embedded defaults of `npm start` (src/main.ts) with
 * nothing from the caller's environment but SETTLE_DATA_DIR and LOG_LEVEL. No
 * DATABASE_URL: an embedded PostgreSQL, in a throwaway directory unless
 * SETTLE_DATA_DIR names one, so a demo never writes into a developer's `.data`.
 * No PSP credentials: the fake PSPs in this process, which the demo drives as the
 * buyer and the connector would. Real credentials in the environment are ignored
 * on purpose: a demo must never move real money.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { createApp } from "../app.ts";
import { type Config, loadConfig } from "../config.ts";
import { openDatabase } from "../database.ts";
import { migrate } from "../db/migrate.ts";
import type { FakeHyperswitch } from "../psp/hyperswitch/fake/index.ts";
import { openServices } from "../services.ts";

export interface DemoEnvironment {
  config: Readonly<Config>;
  /** Where the API listens, e.g. http://127.0.0.1:40123. */
  url: string;
  /** Where the cluster lives, and whether stop() deletes it. */
  dataDir: string;
  throwaway: boolean;
  /** The fake Hyperswitch the demo plays the buyer and the connector on. */
  hyperswitch: FakeHyperswitch;
  /** The database owner, to watch the rows as an operator would. */
  owner: pg.Pool;
  /** Stops everything it started, in reverse order; never throws. */
  stop(): Promise<string[]>;
}

export async function startDemoEnvironment(env: NodeJS.ProcessEnv): Promise<DemoEnvironment> {
  const stops: { name: string; stop: () => Promise<unknown> }[] = [];
  const stop = async () => {
    const failures: string[] = [];
    for (const { name, stop } of stops.reverse()) {
      await stop().catch((error: unknown) => {
        failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    stops.length = 0;
    return failures;
  };
  try {
    const throwaway = !env.SETTLE_DATA_DIR;
    const dataDir = env.SETTLE_DATA_DIR ?? (await mkdtemp(join(tmpdir(), "settle-demo-")));
    if (throwaway) {
      stops.push({
        name: "data directory",
        stop: () => rm(dataDir, { recursive: true, force: true }),
      });
      // As root the cluster runs as OS user `postgres`, which must traverse this directory.
      await chmod(dataDir, 0o755);
    }
    const config = {
      ...loadConfig({ SETTLE_DATA_DIR: dataDir, LOG_LEVEL: env.LOG_LEVEL ?? "error" }),
      port: 0, // any free port: the demo must not collide with a running `npm start`
    };
    // The service's own logs go to stderr, quiet unless LOG_LEVEL asks for more.
    const logger = pino({ level: config.logLevel }, pino.destination(2));
    const database = await openDatabase(config, logger);
    stops.push({ name: "database", stop: database.stop });
    await migrate(database.url, logger);
    const services = await openServices({ config, connectionString: database.url, logger });
    stops.push({ name: "services", stop: services.stop });
    const app = createApp({ config, connectionString: database.url, logger, services });
    stops.push({ name: "app", stop: app.stop });
    const { port } = await app.start();
    const owner = new pg.Pool({ connectionString: database.url, max: 2 });
    owner.on("error", () => {}); // an idle client cut by the shutdown must not crash the demo
    stops.push({ name: "owner pool", stop: () => owner.end() });
    // Always there: the configuration above names no PSP.
    const hyperswitch = services.psps.fakes.hyperswitch!;
    return {
      config,
      url: `http://127.0.0.1:${port}`,
      dataDir,
      throwaway,
      hyperswitch,
      owner,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
