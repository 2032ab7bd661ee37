/**
 * The graphile-worker runner, in library mode on the process's shared pool. It
 * does not handle signals itself: the process entry point owns shutdown order.
 */
import { Logger as GraphileLogger, type Runner, run, type TaskList } from "graphile-worker";
import type pg from "pg";
import type { Logger } from "./log.ts";
import { crontabFor } from "./tasks/index.ts";

export interface WorkerOptions {
  pool: pg.Pool;
  concurrency: number;
  taskList: TaskList;
  /** Job flags this process refuses (e.g. `reversals` while reversals are paused). */
  forbiddenFlags?: string[];
  logger: Logger;
}

export interface Worker {
  /** Started, and the runner has not ended (stopped or crashed). */
  alive(): boolean;
  /** Settles when the runner ends, for whatever reason; never rejects. */
  readonly ended: Promise<{ error?: unknown }>;
  stop(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const log = options.logger.child({ component: "worker" });
  const runner: Runner = await run({
    pgPool: options.pool,
    concurrency: options.concurrency,
    taskList: options.taskList,
    // The daily payout run, when this task list has it (a test's list may not).
    crontab: crontabFor(options.taskList),
    forbiddenFlags: options.forbiddenFlags ?? [],
    noHandleSignals: true,
    logger: graphileLogger(log),
  });
  let running = true;
  const ended: Promise<{ error?: unknown }> = runner.promise.then(
    () => ({}),
    (error: unknown) => ({ error }),
  );
  void ended.then(({ error }) => {
    running = false;
    if (error) log.error({ err: error }, "worker runner ended with an error");
    else log.info("worker runner ended");
  });
  runner.events.on("pool:fatalError", ({ error, action }) => {
    log.error({ err: error, action }, "worker pool fatal error");
  });
  log.info(
    { concurrency: options.concurrency, tasks: Object.keys(options.taskList) },
    "worker started",
  );
  let stopping: Promise<void> | undefined;
  return {
    alive: () => running,
    ended,
    stop() {
      stopping ??= (async () => {
        if (running) {
          // Waits for running jobs to finish (graphile-worker's graceful shutdown).
          await runner.stop("shutdown").catch((error: unknown) => {
            log.warn({ err: error }, "worker did not stop cleanly");
          });
        }
        await ended;
      })();
      return stopping;
    },
  };
}

/**
 * graphile-worker logs every job at `info`; at our `info` that would be a line
 * per job, so its info goes to our debug. Its warnings and errors stay as they are.
 */
export function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const method = level === "error" ? "error" : level === "warning" ? "warn" : "debug";
    log[method]({ scope, ...(meta ? { meta } : {}) }, message);
  });
}
