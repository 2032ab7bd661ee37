/**
 * What a Settle process needs besides its HTTP server: the typed database pool,
 * the PSPs (real, or fakes started here), the API flows and the worker's tasks.
 * Both entry points (npm start, npm run worker) open them here.
 */
import type { TaskList } from "graphile-worker";
import type pg from "pg";
import type { Config } from "./config.ts";
import { createSlonikPool, type DatabasePool } from "./db/slonik.ts";
import { type Flows, makeFlows } from "./flows/index.ts";
import type { Logger } from "./log.ts";
import { type Psps, startPsps } from "./psp/runtime.ts";
import { forbiddenFlags, makeTaskList, SWEEPER_JOB_KEY, SWEEPER_TASK } from "./tasks/index.ts";

export interface Services {
  db: DatabasePool;
  psps: Psps;
  flows: Flows;
  taskList: TaskList;
  forbiddenFlags: string[];
  stop(): Promise<void>;
}

export async function openServices(options: {
  config: Config;
  connectionString: string;
  logger: Logger;
}): Promise<Services> {
  const { config, logger } = options;
  const db = await createSlonikPool(options.connectionString, {
    // One transaction per job in flight (it holds its row during the PSP call),
    // plus the API flows' short ones.
    maximumPoolSize: config.workerConcurrency + 5,
    logger,
  });
  let psps: Psps;
  try {
    psps = await startPsps(config, logger);
  } catch (error) {
    await db.end();
    throw error;
  }
  const deps = { db, stripe: psps.stripe, hyperswitch: psps.hyperswitch, config, logger };
  return {
    db,
    psps,
    flows: makeFlows(deps),
    taskList: makeTaskList(deps),
    forbiddenFlags: forbiddenFlags(deps),
    async stop() {
      await psps.stop();
      await db.end();
    },
  };
}

/**
 * The sweeper reschedules itself; this makes sure one is scheduled at start (a
 * waiting one keeps its time, one locked by a dead worker is replaced).
 */
export async function scheduleSweeper(pool: pg.Pool): Promise<void> {
  await pool.query(
    "select graphile_worker.add_job($1, '{}'::json, job_key := $2, job_key_mode := 'preserve_run_at')",
    [SWEEPER_TASK, SWEEPER_JOB_KEY],
  );
}
