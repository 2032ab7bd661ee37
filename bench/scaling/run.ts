/**
 * Scaling: the background queries timed and explained at each size of history
 * (sizes are cumulative: 10 k, then 1 M adds the difference).
 */
import type pg from "pg";
import { NOOP_TASK } from "../limits/worker-noop.ts";
import { round } from "../stats.ts";
import { explainGetJob, explainSweep, type PlannedQuery, timeSweep } from "./explain.ts";
import { addHistory } from "./history.ts";

export interface ScalingStep {
  rows: number;
  load_seconds: number;
  sweep_ms: number;
  queries: Array<{ name: string; ms: number; index: "yes" | "no" }>;
  plans: Record<string, string>;
}

export async function benchScaling(
  pool: pg.Pool,
  sizes: readonly number[],
  getJob: { text: string; values: unknown[] } | null,
  onStep?: (step: ScalingStep) => void,
): Promise<ScalingStep[]> {
  const steps: ScalingStep[] = [];
  let loaded = 0;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const loadSeconds = await addHistory(pool, size - loaded);
    loaded = size;
    const planned: PlannedQuery[] = await explainSweep(pool);
    if (getJob) planned.push(await explainGetJob(pool, getJob, NOOP_TASK));
    const step: ScalingStep = {
      rows: size,
      load_seconds: round(loadSeconds),
      sweep_ms: round(await timeSweep(pool)),
      queries: planned.map((q) => ({
        name: q.name,
        ms: round(q.ms, 3),
        index: q.index ? "yes" : "no",
      })),
      plans: Object.fromEntries(planned.map((q) => [q.name, q.plan])),
    };
    steps.push(step);
    onStep?.(step);
  }
  return steps;
}
