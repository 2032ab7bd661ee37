/**
 * graphile-worker's own ceiling with Settle's settings: a task that does nothing,
 * run by a runner configured as the service's (src/worker.ts: concurrency
 * WORKER_CONCURRENCY, the pool size worker-main gives it, default polling), jobs
 * queued in one bulk add_jobs. Any real task costs at least this per job.
 *
 * It also captures the text of the runner's due-job query (get_job), which the
 * scaling step explains against a large jobs table.
 */
import { run } from "graphile-worker";
import pg from "pg";
import type { Logger } from "../../src/log.ts";
import { graphileLogger } from "../../src/worker.ts";
import { round } from "../stats.ts";

export const NOOP_TASK = "bench__noop";

export interface WorkerNoopResult {
  jobs: number;
  concurrency: number;
  seconds: number;
  per_s: number;
  /** The due-job query as the runner sent it, with its parameter values. */
  getJobQuery: { text: string; values: unknown[] } | null;
}

export async function measureWorkerNoop(options: {
  url: string;
  jobs: number;
  concurrency: number;
  logger: Logger;
}): Promise<WorkerNoopResult> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.concurrency + 1 });
  pool.on("error", () => {});
  let getJobQuery: WorkerNoopResult["getJobQuery"] = null;
  pool.on("connect", (client) => {
    client.on("error", () => {});
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      const q = args[0] as { name?: string; text?: string; values?: unknown[] } | undefined;
      if (!getJobQuery && q?.name?.startsWith("get_job") && q.text) {
        getJobQuery = { text: q.text, values: q.values ?? [] };
      }
      return query(...args);
    };
  });
  let done = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const runner = await run({
    pgPool: pool,
    concurrency: options.concurrency,
    taskList: {
      [NOOP_TASK]: async () => {
        if (++done === options.jobs) allDone();
      },
    },
    noHandleSignals: true,
    logger: graphileLogger(options.logger),
  });
  try {
    // Let every worker reach its idle wait, as in a running service.
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await pool.query(
      `select graphile_worker.add_jobs(array(
         select json_populate_recordset(null::graphile_worker.job_spec, $1::json)))`,
      [
        JSON.stringify(
          Array.from({ length: options.jobs }, (_, n) => ({
            identifier: NOOP_TASK,
            payload: { n },
          })),
        ),
      ],
    );
    await finished;
    const seconds = (performance.now() - started) / 1000;
    return {
      jobs: options.jobs,
      concurrency: options.concurrency,
      seconds: round(seconds),
      per_s: round(options.jobs / seconds),
      getJobQuery,
    };
  } finally {
    await runner.stop();
    await pool.end();
  }
}
