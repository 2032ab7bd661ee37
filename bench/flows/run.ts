/**
 * Each flow three times: a warm-up (one at a time, the first use of the flow's
 * statements on the service's connections: PostgreSQL plans a session's statements
 * on their first runs, which a long-running service did long ago; kept as `cold`),
 * a latency pass (one caller at a time, so the figure is the flow's own time, not
 * queueing behind other callers) and a throughput pass.
 * The throughput pass offers more than the service can take: `clients` callers
 * in a closed loop (200 by default: a cap of 200 ÷ latency, thousands a second,
 * far above what the flows complete; 0: every operation requested at once, which
 * opens more connections than a listen backlog takes), and per_s = operations ÷
 * (first request → last operation's completion committed), the rate at which the
 * service completes a flow when it is saturated. p50/p99 come from the
 * one-at-a-time pass; the loaded latencies (mostly queueing) are kept too.
 */
import type { LoopResult } from "../closed-loop.ts";
import type { Harness } from "../harness.ts";
import { round, type Summary, summarize } from "../stats.ts";
import { benchConfirm } from "./confirm.ts";
import { benchPaymentWebhook } from "./payment-webhook.ts";
import { benchRefund, REFUND_PSP_CALLS_IN_SERIES } from "./refund.ts";

export type FlowName = "confirm" | "payment_webhook_to_transfers" | "refund_to_reversed";

export interface FlowFigures {
  per_s: number;
  p50_ms: number;
  p99_ms: number;
  psp_calls_in_series: number;
  psp_latency_in_series_ms: number;
  p50_beyond_psp_ms: number;
  p99_beyond_psp_ms: number;
  ratio_to_pg_commits: number;
  ratio_to_worker_noop: number;
  /** graphile-worker jobs created per operation in the throughput pass (ids drawn ÷ operations). */
  jobs_per_op: number;
  /** The no-op job rate ÷ jobs_per_op: the most the worker could run of this flow's jobs (null: no jobs). */
  job_bound_per_s: number | null;
  ratio_to_job_bound: number | null;
  unloaded: Summary & { clients: 1 };
  /** The warm-up pass (one at a time, first use of the flow's statements on the service's connections); null without one. */
  cold: (Summary & { clients: 1 }) | null;
  loaded: Summary & { clients: number };
}

type Run = (h: Harness, orderIds: readonly string[], clients: number) => Promise<LoopResult>;

const FLOWS: Array<[FlowName, Run, number]> = [
  ["confirm", benchConfirm, 1],
  ["payment_webhook_to_transfers", benchPaymentWebhook, 1],
  ["refund_to_reversed", benchRefund, REFUND_PSP_CALLS_IN_SERIES],
];

/**
 * Job ids drawn so far: every job graphile-worker created (an add_job that
 * replaced a waiting job of the same key draws one too, so this may count a
 * little over). Jobs are deleted when they succeed; their ids stay drawn.
 */
async function jobIdsDrawn(h: Harness): Promise<number> {
  const { rows } = await h.pool.query<{ n: string }>(
    `select coalesce(pg_sequence_last_value(
       pg_get_serial_sequence('graphile_worker._private_jobs', 'id')::regclass), 0) as n`,
  );
  return Number(rows[0]!.n);
}

export async function runFlows(
  h: Harness,
  orders: {
    /** Run one at a time first, not counted in the latency pass: the cold start. */
    warmup: readonly string[];
    /** Run one at a time. */
    latency: readonly string[];
    /** Run by `clients` callers; the rest of the orders only confirm and pay (`extra`). */
    throughput: readonly string[];
    /** Orders confirmed and paid but not refunded here (later steps' backlogs). */
    extra: readonly string[];
  },
  options: {
    /** Callers of the throughput pass; 0: every operation requested at once. */
    clients: number;
    pspLatencyMs: number;
    limits: { pgCommitsPerS: number; workerNoopPerS: number };
    say: (line: string) => void;
  },
): Promise<{ flows: Record<FlowName, FlowFigures>; samples: Record<string, number[]> }> {
  const flows = {} as Record<FlowName, FlowFigures>;
  const samples: Record<string, number[]> = {};
  for (const [name, run, pspCalls] of FLOWS) {
    options.say(`flow ${name} …`);
    const cold = orders.warmup.length ? await run(h, orders.warmup, 1) : null;
    const one = await run(h, orders.latency, 1);
    const loadedOrders =
      name === "refund_to_reversed" ? orders.throughput : [...orders.throughput, ...orders.extra];
    const clients = options.clients || loadedOrders.length;
    const jobsBefore = await jobIdsDrawn(h);
    const many = await run(h, loadedOrders, clients);
    const jobsPerOp = ((await jobIdsDrawn(h)) - jobsBefore) / loadedOrders.length;
    const jobBound = jobsPerOp > 0 ? options.limits.workerNoopPerS / jobsPerOp : null;
    const unloaded = summarize(one.latenciesMs, one.elapsedMs);
    // Throughput over the flow's own orders only, so every flow is timed on the same count.
    const loaded = summarize(many.latenciesMs, many.elapsedMs);
    samples[`${name} (1 client)`] = one.latenciesMs;
    samples[`${name} (${options.clients ? `${clients} clients` : "all at once"})`] =
      many.latenciesMs;
    const pspMs = pspCalls * options.pspLatencyMs;
    flows[name] = {
      per_s: loaded.per_s,
      p50_ms: unloaded.p50_ms,
      p99_ms: unloaded.p99_ms,
      psp_calls_in_series: pspCalls,
      psp_latency_in_series_ms: pspMs,
      p50_beyond_psp_ms: round(unloaded.p50_ms - pspMs),
      p99_beyond_psp_ms: round(unloaded.p99_ms - pspMs),
      ratio_to_pg_commits: round(loaded.per_s / options.limits.pgCommitsPerS, 4),
      ratio_to_worker_noop: round(loaded.per_s / options.limits.workerNoopPerS, 4),
      jobs_per_op: round(jobsPerOp),
      job_bound_per_s: jobBound === null ? null : round(jobBound),
      ratio_to_job_bound: jobBound === null ? null : round(loaded.per_s / jobBound, 4),
      unloaded: { ...unloaded, clients: 1 },
      cold: cold ? { ...summarize(cold.latenciesMs, cold.elapsedMs), clients: 1 } : null,
      loaded: { ...loaded, clients },
    };
  }
  return { flows, samples };
}
