/**
 * GET /metrics: Prometheus text. Process metrics, whether the worker runs, the
 * pipeline's rows per entity and status (ops.pipeline_summary), the backlog of
 * unfinished work with the age of its oldest row (ops.backlog), and the job queue
 * per task, so a dashboard shows work piling up or stuck before anyone asks psql.
 */
import type pg from "pg";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Logger } from "../log.ts";

export interface MetricsOptions {
  pool: pg.Pool;
  workerAlive: () => boolean;
  logger: Logger;
}

export interface Metrics {
  contentType: string;
  render(): Promise<string>;
}

interface SummaryRow {
  entity: string;
  status: string;
  count: string | number;
}

export function createMetrics({ pool, workerAlive, logger }: MetricsOptions): Metrics {
  // A registry per app rather than prom-client's global one: tests run several
  // apps in one process, and the global registry rejects duplicate metric names.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "settle_worker_alive",
    help: "1 while this process's graphile-worker runner is running, else 0",
    registers: [registry],
    collect() {
      this.set(workerAlive() ? 1 : 0);
    },
  });
  new Gauge({
    name: "settle_rows",
    help: "Rows per entity and status, from ops.pipeline_summary",
    labelNames: ["entity", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const row of await pipelineSummary(pool)) {
          this.set({ entity: row.entity, status: row.status }, Number(row.count));
        }
      } catch (error) {
        // One failed query should not cost the scrape its other metrics; the
        // missing series and the log line say what happened.
        logger.warn({ err: error }, "metrics: could not read ops.pipeline_summary");
      }
    },
  });
  const backlog = async () => {
    const { rows } = await pool.query<{
      entity: string;
      status: string;
      count: string;
      oldest_seconds: string;
    }>("select entity, status, count, oldest_seconds from ops.backlog");
    return rows;
  };
  new Gauge({
    name: "settle_backlog_rows",
    help: "Unfinished rows per entity and status, from ops.backlog",
    labelNames: ["entity", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const row of await backlog())
          this.set({ entity: row.entity, status: row.status }, Number(row.count));
      } catch (error) {
        logger.warn({ err: error }, "metrics: could not read ops.backlog");
      }
    },
  });
  new Gauge({
    name: "settle_backlog_oldest_seconds",
    help: "Age in seconds of the oldest unfinished row per entity and status, from ops.backlog",
    labelNames: ["entity", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const row of await backlog()) {
          this.set({ entity: row.entity, status: row.status }, Number(row.oldest_seconds));
        }
      } catch (error) {
        logger.warn({ err: error }, "metrics: could not read ops.backlog");
      }
    },
  });
  new Gauge({
    name: "settle_jobs",
    help: "graphile-worker jobs per task: waiting, running (locked), or out of attempts",
    labelNames: ["task", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const { rows } = await pool.query<{ task: string; state: string; count: string }>(
          `select task_identifier as task,
                  case when attempts >= max_attempts then 'exhausted'
                       when locked_at is not null then 'running' else 'waiting' end as state,
                  count(*) as count
           from graphile_worker.jobs group by 1, 2`,
        );
        for (const row of rows) this.set({ task: row.task, state: row.state }, Number(row.count));
      } catch (error) {
        logger.warn({ err: error }, "metrics: could not read graphile_worker.jobs");
      }
    },
  });
  return { contentType: registry.contentType, render: () => registry.metrics() };
}

/** Empty until the ops views exist (they arrive with a later migration). */
async function pipelineSummary(pool: pg.Pool): Promise<SummaryRow[]> {
  const { rows: found } = await pool.query<{ present: boolean }>(
    "select to_regclass('ops.pipeline_summary') is not null as present",
  );
  if (!found[0]?.present) return [];
  const { rows } = await pool.query<SummaryRow>(
    "select entity::text, status::text, count from ops.pipeline_summary",
  );
  return rows;
}
