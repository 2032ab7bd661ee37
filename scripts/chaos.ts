/**
 * `npm run chaos [-- --orders N --sellers N --fault-rate P --seed N …]`: the chaos
 * suite (src/chaos/run.ts). Exit code 0 when every check passed, 1 otherwise.
 */
import { chaosCommand } from "../src/chaos/options.ts";
import { runChaos } from "../src/chaos/run.ts";

const cancelled = new Promise<never>((_, reject) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => reject(new Error(`interrupted by ${signal}`)));
  }
});
cancelled.catch(() => {}); // reported by runChaos when it happens during the run

await chaosCommand((options) =>
  runChaos(options, (line) => console.log(line), cancelled),
).parseAsync(process.argv);
// Exit now: a lingering keep-alive socket or timer must not hold a finished run.
process.exit(process.exitCode ?? 1);
