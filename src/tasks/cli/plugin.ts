/**
 * The graphile-config plugin that lets the stock CLI run Settle's tasks: it
 * records the settings graphile-worker resolved (see ./session.ts) at start-up,
 * before the CLI loads the task list. Erasable syntax only (see ./session.ts).
 */
import { recordSession } from "./session.ts";

export const SettleWorkerPlugin: GraphileConfig.Plugin = {
  name: "SettleWorkerPlugin",
  version: "0.1.0",
  worker: {
    middleware: {
      init(next, event) {
        const { worker } = event.ctx.resolvedPreset;
        recordSession({
          connectionString: worker.connectionString,
          concurrentJobs: worker.concurrentJobs,
          events: event.ctx.events,
        });
        return next();
      },
    },
  },
};
