/**
 * graphile.config.ts: lets the stock graphile-worker CLI (`npx graphile-worker`)
 * run Settle's tasks with Settle's configuration.
 *
 *   npx graphile-worker -c "$DATABASE_URL"            # run until SIGINT/SIGTERM
 *   npx graphile-worker -c "$DATABASE_URL" --once     # run what is due, then exit
 *   npx graphile-worker --crontab path/to/crontab     # another crontab than ours
 *
 * Required environment (validated like `npm run worker`, see .env.example):
 * - the database: `-c <url>` or DATABASE_URL, migrated by `npm run migrate` (the
 *   CLI installs graphile-worker's schema only, and refuses a `settle` schema older
 *   than this build);
 * - the PSPs: HYPERSWITCH_BASE_URL, HYPERSWITCH_API_KEY, HYPERSWITCH_WEBHOOK_SECRET,
 *   STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET (STRIPE_API_BASE for a non-Stripe host),
 *   and then JWT_SECRET, which the configuration requires
 *   whenever PSP credentials are set. Without PSP credentials the CLI stops with a
 *   message naming them, instead of starting fakes in this process as `npm start`
 *   does: those fakes would hold none of the payments the API made through its
 *   own. SETTLE_ALLOW_FAKE_PSPS=1 starts them anyway (a smoke test, nothing more).
 * - the rest as for `npm run worker` (TRANSFER_RETRY_*, REVERSAL_*, SWEEP_INTERVAL,
 *   STRIPE_MAX_REQUESTS_PER_SECOND, LOG_LEVEL). REVERSAL_WORKER_ENABLED=false leaves
 *   the reversal task out of the list (the CLI has no forbiddenFlags option), so
 *   reversal jobs wait.
 * - concurrency: WORKER_CONCURRENCY (default 10), with a pool of that plus one
 *   connection, as `npm run worker` has; the CLI's `-j` and `-m` win over them
 *   (the CLI merges its flags over this preset). An invalid configuration stops
 *   the CLI with a message naming the variable, before it connects.
 *
 * The sweeper runs from src/tasks/cli/crontab (see the comment there); with
 * `--crontab` of your own, copy its line, or rows whose job was lost stay put.
 *
 * Node's own type stripping loads this file, and it cannot load our decorated PSP
 * clients (tsyringe decorators are not erasable syntax), so this file and the two
 * modules it imports stay erasable, tsx compiles src/config.ts for it, and tsx is
 * registered before graphile-worker imports the task list, which pulls in the rest
 * of the application.
 */
import { fileURLToPath } from "node:url";
import { require as tsxRequire } from "tsx/cjs/api";
import { register } from "tsx/esm/api";
import type * as ConfigModuleNamespace from "./src/config.ts";
import { SettleWorkerPlugin } from "./src/tasks/cli/plugin.ts";

type ConfigModule = typeof ConfigModuleNamespace;
type Config = ConfigModuleNamespace.Config;

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The repository's tsconfig, wherever the CLI runs from: esbuild compiles the
// parameter decorators only with its experimentalDecorators.
register({ tsconfig: here("./tsconfig.json") });

/**
 * The validated configuration, or a one-line reason to stop (as `npm run worker`
 * gives). src/config.ts is not erasable syntax (a parameter property), so tsx
 * compiles it; synchronously, because graphile-config first `require`s this file
 * and a top-level await would make it load everything twice.
 */
function settleConfig(): Readonly<Config> {
  const { loadConfig, ConfigError } = tsxRequire(
    "./src/config.ts",
    import.meta.url,
  ) as ConfigModule;
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const { workerConcurrency } = settleConfig();

// No `extends: [WorkerPreset]`: the CLI puts WorkerPreset under this preset itself,
// and the options of its command line (-j, -m, -c, …) over it: flags still win.
const preset: GraphileConfig.Preset = {
  plugins: [SettleWorkerPlugin],
  worker: {
    // A file, not a directory: graphile-worker takes its exports as the task list.
    taskDirectory: here("./src/tasks/cli/task-list.ts"),
    crontabFile: here("./src/tasks/cli/crontab"),
    // SPEC §3; graphile-worker's own default is 1.
    concurrentJobs: workerConcurrency,
    // As `npm run worker` sizes its pool: a connection per job and one for the
    // queue (graphile-worker's default, 10, is below a larger WORKER_CONCURRENCY).
    maxPoolSize: workerConcurrency + 1,
  },
};

export default preset;
