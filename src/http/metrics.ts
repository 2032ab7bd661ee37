/**
 * GET /metrics: Prometheus text. Process metrics, whether the worker runs, and
 * the pipeline's rows per entity and status (from ops.pipeline_summary), so a
 * dashboard can show work piling up in a status before anyone has to ask psql.
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
