/**
 * `npm run worker`: the job runner alone, for deployments that scale workers
 * apart from the API. It does not migrate (the API process or `npm run migrate`
 * does); it refuses to run jobs against a schema older than its code.
 */
import { createPool, endPool } from "./database.ts";
import { assertMigrated } from "./db/migrate.ts";
import { runWithDatabase } from "./lifecycle.ts";
import { logger } from "./log.ts";
import { openServices, scheduleSweeper } from "./services.ts";
import { startWorker } from "./worker.ts";

runWithDatabase(async ({ config, database, onStop, fail }) => {
  await assertMigrated(database.url);
  const pool = createPool(database.url, logger, {
    max: config.workerConcurrency + 1,
    applicationName: "settle-worker",
  });
  onStop("pg pool", () => endPool(pool));
  // Without PSP credentials this process starts fakes of its own, which the API
  // process does not share: to run them apart in development, run
  // `npx settle fake-psp` and point both at it.
  const services = await openServices({ config, connectionString: database.url, logger });
  onStop("services", services.stop);
  await scheduleSweeper(pool);
  const worker = await startWorker({
    pool,
    concurrency: config.workerConcurrency,
    taskList: services.taskList,
    forbiddenFlags: services.forbiddenFlags,
    logger,
  });
  onStop("worker", worker.stop);
  void worker.ended.then(({ error }) => fail("worker runner ended unexpectedly", error));
});
