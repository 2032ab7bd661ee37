/**
 * `npm run demo`: one full lifecycle on the embedded defaults, printing each
 * state change (src/demo/run.ts). Ctrl-C stops everything it started.
 */
import { runDemo } from "../src/demo/run.ts";

const cancelled = new Promise<never>((_, reject) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => reject(new Error(`interrupted by ${signal}`)));
  }
});
cancelled.catch(() => {}); // reported by runDemo when it happens during the run

const code = await runDemo({ env: process.env, print: (line) => console.log(line), cancelled });
// Exit now: a lingering keep-alive socket or timer must not hold a finished demo.
process.exit(code);
