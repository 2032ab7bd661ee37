/**
 * Settle's own processes for the run, supervised as a deployment would be: the
 * API (`src/main.ts`, which also runs a worker) and N worker processes
 * (`src/worker-main.ts`), all on one database and the same fakes. A process that
 * exits on its own is started again and counted; `killWorker` SIGKILLs one and
 * starts a new one, as an OOM killer and an orchestrator would.
 */
import type { ChaosOptions } from "./options.ts";
import { type ServiceProcess, sleep, spawnService } from "./processes.ts";

export const JWT_SECRET = "chaos-run-jwt-secret-0123456789abcdef";

export interface Fleet {
  apiUrl: string;
  /** SIGKILL one worker now; its replacement starts after `downMs`. */
  killWorker(index: number, downMs: number): Promise<void>;
  /** Processes that exited on their own and were started again, by name. */
  unexpectedExits(): Record<string, number>;
  /** Why: the last lines each such process wrote. */
  exitReports(): string[];
  /** Lines matching each counted pattern, over every process this run started. */
  counted(name: string): number;
  /** Each live process's last lines, for a failure report. */
  tails(lines?: number): string;
  stop(): Promise<void>;
}

/** Output worth counting across the fleet. */
const COUNT = {
  sweeperRequeued: /sweeper gave jobs back/,
  adopted: /adopted/,
  connectionLost: /database connection lost|Connection terminated|ECONNREFUSED/,
};

export async function startFleet(options: {
  chaos: ChaosOptions;
  databaseUrl: string;
  apiPort: number;
  pspEnv: Record<string, string>;
}): Promise<Fleet> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(base)) {
    if (
      /^(DATABASE_URL|JWT_SECRET|HYPERSWITCH_|STRIPE_|SWEEP_|TRANSFER_|REVERSAL_|WORKER_|PSP_|PORT$)/.test(
        key,
      )
    )
      delete base[key];
  }
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...options.pspEnv,
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET,
    GRAPHILE_ENV: "production",
    LOG_LEVEL: "info",
    SWEEP_INTERVAL: options.chaos.sweepInterval,
    PSP_TIMEOUT_MS: "2000",
    TRANSFER_RETRY_MAX_RETRIES: String(options.chaos.maxRetries),
    TRANSFER_RETRY_BACKOFF_BASE: "200ms",
    TRANSFER_RETRY_BACKOFF_MAX: "3s",
    REVERSAL_MAX_RETRIES: String(options.chaos.maxRetries),
    REVERSAL_BACKOFF_BASE: "200ms",
    REVERSAL_BACKOFF_MAX: "3s",
    STRIPE_MAX_REQUESTS_PER_SECOND: "200",
    WORKER_CONCURRENCY: "4",
  };
  const retired: ServiceProcess[] = [];
  const exits: Record<string, number> = {};
  const exitReports: string[] = [];
  let stopping = false;

  const startApi = () =>
    spawnService({
      name: "api",
      entry: "src/main.ts",
      env: { ...env, PORT: String(options.apiPort) },
      ready: /"msg":"listening/,
      count: COUNT,
    });
  const startWorker = (n: number) =>
    spawnService({
      name: `worker-${n + 1}`,
      entry: "src/worker-main.ts",
      env,
      ready: /"msg":"worker started"/,
      count: COUNT,
    });

  let api = await startApi();
  const workers: ServiceProcess[] = [];
  for (let n = 0; n < options.chaos.workers; n++) workers.push(await startWorker(n));
  const killed = new Set<ServiceProcess>();

  // A process that exits without being killed or stopped is restarted (as a
  // supervisor would) and counted: the report shows it.
  const supervise = (get: () => ServiceProcess, restart: () => Promise<void>) => {
    const current = get();
    void current.exit.then(async () => {
      if (stopping || killed.has(current)) return;
      exits[current.name] = (exits[current.name] ?? 0) + 1;
      exitReports.push(
        `--- ${current.name} exited on its own; its last lines ---\n${current.tail(45)}`,
      );
      retired.push(current);
      for (let attempt = 0; !stopping; attempt++) {
        try {
          await restart();
          return;
        } catch {
          await sleep(Math.min(500 * 2 ** attempt, 5_000));
        }
      }
    });
  };
  const superviseApi = () =>
    supervise(
      () => api,
      async () => {
        api = await startApi();
        superviseApi();
      },
    );
  const superviseWorker = (n: number) =>
    supervise(
      () => workers[n]!,
      async () => {
        workers[n] = await startWorker(n);
        superviseWorker(n);
      },
    );
  superviseApi();
  for (let n = 0; n < workers.length; n++) superviseWorker(n);

  const all = () => [...retired, api, ...workers];
  return {
    apiUrl: `http://127.0.0.1:${options.apiPort}`,
    async killWorker(index, downMs) {
      const worker = workers[index];
      if (!worker || worker.exited()) return;
      killed.add(worker);
      await worker.killHard();
      retired.push(worker);
      await sleep(downMs);
      if (stopping) return;
      for (let attempt = 0; !stopping; attempt++) {
        try {
          workers[index] = await startWorker(index);
          superviseWorker(index);
          return;
        } catch {
          await sleep(Math.min(500 * 2 ** attempt, 5_000));
        }
      }
    },
    unexpectedExits: () => ({ ...exits }),
    exitReports: () => [...exitReports],
    counted: (name) => all().reduce((sum, p) => sum + p.counted(name), 0),
    tails: (lines = 25) =>
      [api, ...workers].map((p) => `--- ${p.name} (last lines) ---\n${p.tail(lines)}`).join("\n"),
    async stop() {
      stopping = true;
      await Promise.all(workers.map((w) => w.stop()));
      await api.stop();
    },
  };
}
