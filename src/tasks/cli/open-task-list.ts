/**
 * Settle's task list for the stock graphile-worker CLI: the same tasks and
 * services as `npm run worker` (src/services.ts), opened from the environment and
 * the connection graphile-worker resolved, and closed when its worker pool ends.
 */
import type { TaskList } from "graphile-worker";
import { loadConfig } from "../../config.ts";
import { assertMigrated } from "../../db/migrate.ts";
import { logger } from "../../log.ts";
import { openServices } from "../../services.ts";
import { REVERSALS_FLAG, TASK as REVERSE_TRANSFER } from "../transfer_reversals__reverse.ts";
import { assertPspsConfigured } from "./psp-guard.ts";
import { currentSession } from "./session.ts";

/**
 * The CLI has no `forbiddenFlags` option, so a task whose jobs carry a forbidden
 * flag is left out of the list instead: graphile-worker fetches only jobs it has a
 * task for, so those jobs wait untouched, as a forbidden flag would leave them.
 */
const TASKS_BY_FLAG: Record<string, string[]> = { [REVERSALS_FLAG]: [REVERSE_TRANSFER] };

export async function openCliTaskList(env: NodeJS.ProcessEnv = process.env): Promise<TaskList> {
  const session = currentSession();
  if (!session) {
    throw new Error(
      "Settle's task list is loaded by the graphile-worker CLI through graphile.config.ts " +
        "(its SettleWorkerPlugin): run `npx graphile-worker` from the repository root, or pass -C graphile.config.ts",
    );
  }
  if (!session.connectionString) {
    throw new Error("Settle's tasks need a connection string: pass -c <url> or set DATABASE_URL");
  }
  const config = loadConfig(env);
  logger.level = config.logLevel;
  assertPspsConfigured(config, env);
  await assertMigrated(session.connectionString);
  const services = await openServices({
    // The pool is sized for the jobs graphile-worker will run at once (-j).
    config: { ...config, workerConcurrency: session.concurrentJobs },
    connectionString: session.connectionString,
    logger,
  });
  session.events.once("pool:release", () => {
    services.stop().catch((error: unknown) => {
      logger.error({ err: error }, "closing Settle's services failed");
    });
  });
  const tasks: TaskList = { ...services.taskList };
  for (const flag of services.forbiddenFlags) {
    for (const task of TASKS_BY_FLAG[flag] ?? []) delete tasks[task];
  }
  return tasks;
}
