/** The printed summary of a run: the same figures as bench/results.json, as tables. */
import type { FlowFigures } from "./flows/run.ts";
import type { PgCommitsResult } from "./limits/pg-commits.ts";
import type { WorkerNoopResult } from "./limits/worker-noop.ts";
import type { RateLimitResult } from "./rate-limit.ts";
import type { RefundSpans } from "./refund-spans.ts";
import type { DrainResult } from "./reversal-drain.ts";
import type { ScalingStep } from "./scaling/run.ts";
import { round } from "./stats.ts";
import { table } from "./table.ts";

export function report(r: {
  pg: PgCommitsResult;
  noop: WorkerNoopResult;
  flows: Record<string, FlowFigures>;
  spans: RefundSpans;
  drain: DrainResult;
  rateLimit: RateLimitResult[];
  scaling: ScalingStep[];
  clients: number;
  pspLatencyMs: number;
  /** Print the EXPLAIN (ANALYZE) output of the largest scaling step too. */
  plans: boolean;
}): string {
  const out: string[] = [];
  out.push(
    table(
      ["limit", "per s", ""],
      [
        ["pg commits (1 UPDATE/txn)", r.pg.per_s, `${r.pg.connections} connections`],
        [
          "worker no-op jobs",
          r.noop.per_s,
          `concurrency ${r.noop.concurrency}, ${r.noop.jobs} jobs`,
        ],
      ],
    ),
    "",
    table(
      [
        "flow",
        "per s",
        "÷ pg commits",
        "÷ no-op jobs",
        "jobs/op",
        "÷ (no-op ÷ jobs/op)",
        "p50 ms",
        "p99 ms",
        "p99 − PSP ms",
        "cold p50/p99 ms",
        "load",
        "p50 ms loaded",
        "p99 ms loaded",
      ],
      Object.entries(r.flows).map(([name, f]) => [
        name,
        f.per_s,
        f.ratio_to_pg_commits,
        f.ratio_to_worker_noop,
        f.jobs_per_op,
        f.ratio_to_job_bound ?? "-",
        f.p50_ms,
        f.p99_ms,
        f.p99_beyond_psp_ms,
        f.cold ? `${f.cold.p50_ms}/${f.cold.p99_ms}` : "-",
        r.clients ? `${f.loaded.clients} callers` : `${f.loaded.count} at once`,
        f.loaded.p50_ms,
        f.loaded.p99_ms,
      ]),
    ),
    `per s: flows completed per second with the service saturated (${r.clients ? `${r.clients} callers in a closed loop, far more than it completes at once` : "every operation requested at once"}), from the first request to the last completion committed` +
      `; p50/p99: one at a time, unloaded, after a warm-up of the same kind (cold: that warm-up's own figures); fake PSP latency ${r.pspLatencyMs} ms a request` +
      ` (in series: ${Object.entries(r.flows)
        .map(([n, f]) => `${n} ${f.psp_calls_in_series}`)
        .join(", ")})` +
      "; jobs/op: graphile-worker jobs each operation created (delayed safety-net jobs included), so no-op jobs/s ÷ jobs/op is what the worker could run of the flow at best",
    "",
    table(
      [`refund_to_reversed, one at a time (${r.spans.refunds} refunds)`, "p50 ms", "p99 ms"],
      Object.entries(r.spans.steps).map(([step, v]) => [step, v?.p50_ms ?? "-", v?.p99_ms ?? "-"]),
    ),
    "(from settle.state_transitions, stamped inside each transaction: a step's commit shows in the next step)",
    "",
    table(
      [
        "reversal backlog, no limit",
        "reversals",
        "per s",
        "÷ no-op jobs",
        "concurrency ÷ PSP latency",
        "share of it",
        "not reversed",
      ],
      [
        [
          "stripe reversals",
          r.drain.reversals,
          r.drain.per_s,
          round(r.drain.per_s / r.noop.per_s, 4),
          r.drain.concurrency_bound_per_s,
          r.drain.ratio_to_concurrency_bound,
          r.drain.not_reversed,
        ],
      ],
    ),
    "",
    table(
      [
        "rate limit",
        "limit/s",
        "achieved/s",
        "ratio",
        "429s",
        "reversals",
        "not reversed",
        "drain s",
      ],
      r.rateLimit.map((run, i) => [
        `stripe (bucket ${run.fake_bucket_burst}), run ${i + 1}`,
        run.limit_per_s,
        run.achieved_per_s,
        run.achieved_ratio,
        run.responses_429,
        run.reversals,
        run.not_reversed,
        run.drain_seconds,
      ]),
    ),
  );
  for (const step of r.scaling) {
    out.push(
      "",
      `scaling: ${step.rows} historical rows per table (loaded in ${step.load_seconds} s); one whole sweep: ${step.sweep_ms} ms`,
      table(
        ["query", "ms", "index"],
        step.queries.map((q) => [q.name, q.ms, q.index]),
      ),
    );
  }
  const largest = r.scaling.at(-1);
  if (r.plans && largest) {
    out.push("", `plans at ${largest.rows} historical rows (EXPLAIN ANALYZE / auto_explain):`);
    for (const [name, plan] of Object.entries(largest.plans))
      out.push("", `-- ${name}`, plan.trim());
  }
  return out.join("\n");
}
