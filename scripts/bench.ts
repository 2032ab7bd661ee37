/**
 * `npm run bench` (SPEC §9): the physical limits of this machine's database and
 * job queue, each money flow's throughput and latency against the fake PSPs, the
 * behaviour under a Stripe rate limit, and the background queries at scale, all
 * in one run on one throwaway database. Prints tables, writes bench/results.json
 * and a latency chart. Figures only: nothing here passes or fails.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { openBenchDatabase } from "../bench/cluster.ts";
import { runFlows } from "../bench/flows/run.ts";
import { startHarness } from "../bench/harness.ts";
import { latencySvg } from "../bench/latency-svg.ts";
import { measurePgCommits } from "../bench/limits/pg-commits.ts";
import { measureWorkerNoop } from "../bench/limits/worker-noop.ts";
import { codeVersion, machine } from "../bench/metadata.ts";
import { benchRateLimit, type RateLimitResult } from "../bench/rate-limit.ts";
import { type RefundSpans, refundSpans } from "../bench/refund-spans.ts";
import { report } from "../bench/report.ts";
import { benchReversalDrain, type DrainResult } from "../bench/reversal-drain.ts";
import { benchScaling } from "../bench/scaling/run.ts";
import { SELLERS_PER_ORDER, seedOrders } from "../bench/seed.ts";
import { round } from "../bench/stats.ts";
import { loadConfig } from "../src/config.ts";
import { isConnectionLoss } from "../src/connection-loss.ts";

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const sizes = (value: string) =>
  value === "none" ? [] : value.split(",").map((v) => int("a scaling size")(v.trim()));

/** Consecutive slices of the given lengths. */
function split<T>(items: readonly T[], lengths: readonly number[]): T[][] {
  const starts = lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0));
  return lengths.map((length, i) => items.slice(starts[i], starts[i]! + length));
}

const program = new Command("bench")
  .description("Settle benchmarks: limits, flows, rate limit, scaling (figures only)")
  .option(
    "--flow-count <n>",
    "operations per flow in the throughput pass",
    int("--flow-count"),
    300,
  )
  .option(
    "--warmup <n>",
    "operations per flow run one at a time before the latency pass and not counted in it (its figures are kept as the cold start)",
    int("--warmup"),
    30,
  )
  .option(
    "--latency-count <n>",
    "operations per flow in the one-at-a-time pass",
    int("--latency-count"),
    100,
  )
  .option("--drain-backlog <n>", "reversals in the no-limit backlog", int("--drain-backlog"), 1000)
  .option(
    "--clients <n>",
    "callers of the throughput pass, in a closed loop; enough to saturate the service (0: every operation at once)",
    int("--clients"),
    200,
  )
  .option(
    "--psp-latency <ms>",
    "latency the fake PSPs add to every request",
    int("--psp-latency"),
    20,
  )
  .option("--pg-seconds <s>", "duration of the commit measurement", int("--pg-seconds"), 5)
  .option(
    "--pg-connections <n>",
    "connections of the commit measurement",
    int("--pg-connections"),
    8,
  )
  .option(
    "--noop-jobs <n>",
    "no-op jobs queued for the worker measurement",
    int("--noop-jobs"),
    20_000,
  )
  .option(
    "--rate-limit <n>",
    "STRIPE_MAX_REQUESTS_PER_SECOND and the fake's limit",
    int("--rate-limit"),
    50,
  )
  .option(
    "--rate-burst <n>",
    "token bucket size of the fake Stripe's limit",
    int("--rate-burst"),
    5,
  )
  .option("--rate-backlog <n>", "reversals in the rate-limit backlog", int("--rate-backlog"), 500)
  .option(
    "--rate-runs <n>",
    "times the rate-limit step runs, each on its own backlog",
    int("--rate-runs"),
    3,
  )
  .option(
    "--scaling <sizes>",
    'history sizes, cumulative ("none" to skip)',
    sizes,
    [10_000, 100_000],
  )
  .option("--no-plans", "do not print the query plans of the largest scaling step")
  .option("--unsafe-fast", "PostgreSQL with fsync off (not what production runs)", false)
  .option("--out <file>", "results file", "bench/results.json")
  .option("--svg <file>", "latency chart", "bench/latency.svg")
  .option("--verbose", "Settle's warnings and errors on stderr", false);

const opts = program.parse().opts<{
  flowCount: number;
  warmup: number;
  latencyCount: number;
  drainBacklog: number;
  clients: number;
  pspLatency: number;
  pgSeconds: number;
  pgConnections: number;
  noopJobs: number;
  rateLimit: number;
  rateBurst: number;
  rateBacklog: number;
  rateRuns: number;
  scaling: number[];
  plans: boolean;
  unsafeFast: boolean;
  out: string;
  svg: string;
  verbose: boolean;
}>();

const logger = pino({ level: opts.verbose ? "warn" : "silent" });
// As in a Settle process (src/lifecycle.ts): graphile-worker records a job's end
// without awaiting it, so a worker stopped between steps may leave a completion
// that cannot reach the database any more. Its row is the sweeper's; the bench goes
// on. Anything else still ends the run.
process.on("unhandledRejection", (reason) => {
  if (isConnectionLoss(reason)) {
    logger.warn({ error: String(reason) }, "an unawaited database call lost its connection");
    return;
  }
  console.error(reason);
  process.exit(1);
});
const say = (line: string) => console.log(line);
const startedAt = new Date();
const machineBefore = machine();
// The service's worker settings, from the environment as `npm start` reads them.
const workerEnv: Record<string, string> = process.env.WORKER_CONCURRENCY
  ? { WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY }
  : {};
const concurrency = loadConfig(workerEnv).workerConcurrency;

const db = await openBenchDatabase({ logger, unsafeFast: opts.unsafeFast });
say(`database: ${db.description}, ${db.serverVersion.split(" on ")[0]}`);
try {
  say(`limits: ${opts.pgConnections} connections committing for ${opts.pgSeconds} s …`);
  const pg = await measurePgCommits({
    url: db.url,
    connections: opts.pgConnections,
    seconds: opts.pgSeconds,
  });
  say(`limits: ${opts.noopJobs} no-op jobs, worker concurrency ${concurrency} …`);
  const noop = await measureWorkerNoop({ url: db.url, jobs: opts.noopJobs, concurrency, logger });

  const ordersOf = (reversals: number) => Math.ceil(reversals / SELLERS_PER_ORDER);
  const counts = [
    opts.warmup,
    opts.latencyCount,
    opts.flowCount,
    ordersOf(opts.drainBacklog),
    ordersOf(opts.rateBacklog) * Math.max(1, opts.rateRuns),
  ];
  const h = await startHarness({
    url: db.url,
    logger,
    pspLatencyMs: opts.pspLatency,
    env: workerEnv,
  });
  let flowResults: Awaited<ReturnType<typeof runFlows>>;
  let spans: RefundSpans;
  let drain: DrainResult;
  const rateLimit: RateLimitResult[] = [];
  try {
    const [warmup = [], latency = [], throughput = [], drainOrders = [], rateOrders = []] = split(
      await seedOrders(
        h.pool,
        counts.reduce((a, b) => a + b, 0),
      ),
      counts,
    );
    flowResults = await runFlows(
      h,
      { warmup, latency, throughput, extra: [...drainOrders, ...rateOrders] },
      {
        clients: opts.clients,
        pspLatencyMs: opts.pspLatency,
        limits: { pgCommitsPerS: pg.per_s, workerNoopPerS: noop.per_s },
        say,
      },
    );
    spans = await refundSpans(h.pool, latency);
    say(`reversal backlog: ${drainOrders.length * SELLERS_PER_ORDER} reversals, no rate limit …`);
    drain = await benchReversalDrain(h, drainOrders, {
      concurrency,
      pspLatencyMs: opts.pspLatency,
    });
    const perRun = ordersOf(opts.rateBacklog);
    for (let run = 0; run < Math.max(1, opts.rateRuns); run++) {
      say(
        `rate limit: ${opts.rateLimit}/s, backlog of ${perRun * SELLERS_PER_ORDER} reversals (run ${run + 1}) …`,
      );
      rateLimit.push(
        await benchRateLimit(h, rateOrders.slice(run * perRun, (run + 1) * perRun), {
          limit: opts.rateLimit,
          burst: opts.rateBurst,
        }),
      );
    }
  } finally {
    await h.stop();
  }

  const scalingPool = new (await import("pg")).default.Pool({ connectionString: db.url, max: 2 });
  let scaling: Awaited<ReturnType<typeof benchScaling>> = [];
  try {
    if (opts.scaling.length) say(`scaling: history of ${opts.scaling.join(", ")} rows …`);
    scaling = await benchScaling(scalingPool, opts.scaling, noop.getJobQuery);
  } finally {
    await scalingPool.end();
  }

  const finishedAt = new Date();
  const results = {
    meta: {
      started_at: startedAt.toISOString(),
      finished_at: finishedAt.toISOString(),
      duration_s: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
      machine: { ...machineBefore, load_average_after: machine().load_average },
      code: codeVersion(),
      postgres: { description: db.description, version: db.serverVersion, settings: db.settings },
      options: { ...opts, worker_concurrency: concurrency, fake_psp_latency_ms: opts.pspLatency },
      note: `flows.*.per_s: operations completed per second with the service saturated: ${opts.clients ? `${opts.clients} callers in a closed loop (each starts its next operation when its last one completed), far more than the service completes at once` : "every operation of the pass requested at once"}; operations ÷ (first request → last completion committed). flows.*.p50_ms/p99_ms: one operation at a time, unloaded`,
    },
    limits: {
      pg_commits_per_s: pg.per_s,
      worker_noop_jobs_per_s: noop.per_s,
      pg_commits: pg,
      worker_noop: { ...noop, getJobQuery: undefined },
    },
    flows: flowResults.flows,
    refund_spans: spans,
    reversal_backlog: { ...drain, ratio_to_worker_noop: round(drain.per_s / noop.per_s, 4) },
    rate_limit: rateLimit,
    scaling,
  };
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(
    opts.svg,
    latencySvg(
      flowResults.samples,
      `1 client and ${opts.clients ? `${opts.clients} clients` : "all at once"}, fake PSP latency ${opts.pspLatency} ms, ${machineBefore.cpus} CPUs`,
    ),
  );

  say("");
  say(
    report({
      pg,
      noop,
      flows: flowResults.flows,
      spans,
      drain,
      rateLimit,
      scaling,
      clients: opts.clients,
      pspLatencyMs: opts.pspLatency,
      plans: opts.plans,
    }),
  );
  say("");
  say(`written: ${opts.out}, ${opts.svg} (${results.meta.duration_s} s)`);
} finally {
  await db.stop();
}
