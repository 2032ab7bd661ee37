/**
 * `npm start`: the whole service in one process. Configuration → database
 * (DATABASE_URL, or the embedded cluster in SETTLE_DATA_DIR) → migrations →
 * GraphQL API, probes and worker on one pool and one port.
 */
import { createApp } from "./app.ts";
import { migrate } from "./db/migrate.ts";
import { runWithDatabase } from "./lifecycle.ts";
import { logger } from "./log.ts";
import { openServices } from "./services.ts";

runWithDatabase(async ({ config, database, onStop, fail }) => {
  await migrate(database.url, logger);
  const services = await openServices({ config, connectionString: database.url, logger });
  onStop("services", services.stop);
  const app = createApp({ config, connectionString: database.url, logger, services });
  onStop("app", app.stop);
  const { workerEnded } = await app.start();
  // The API without its worker would accept work that nothing moves forward.
  void workerEnded.then(({ error }) => fail("worker runner ended unexpectedly", error));
});
