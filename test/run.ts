/**
 * `npm test`: start one PostgreSQL for the run (embedded, or DATABASE_URL), migrate
 * the template once, run ava with the cluster in its environment, stop everything.
 * Extra arguments go to ava (e.g. `npm test -- test/db/transitions.test.ts`).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { logger } from "../src/log.ts";
import { startTestCluster } from "./support/cluster.ts";

const log = logger.child({ component: "test-run" });
// The suite reports through ava; the runner only speaks up when something is wrong.
log.level = process.env.LOG_LEVEL ?? "warn";
const started = Date.now();
const cluster = await startTestCluster(log);
console.log(
  `test database: ${cluster.description}; template ${cluster.templateName} migrated in ${Date.now() - started} ms`,
);

// ava exports no path to its CLI; it sits beside the main entrypoint.
const avaCli = join(dirname(createRequire(import.meta.url).resolve("ava")), "cli.mjs");
const child = spawn(process.execPath, [avaCli, ...process.argv.slice(2)], {
  stdio: ["inherit", "pipe", "inherit"],
  env: {
    ...process.env,
    SETTLE_TEST_RUN: "1",
    SETTLE_TEST_ADMIN_URL: cluster.adminUrl,
    SETTLE_TEST_TEMPLATE: cluster.templateName,
  },
});
let output = "";
child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString();
});
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
await cluster.stop();

// A plain closing line that any CI log reader understands.
const plain = stripVTControlCharacters(output);
// ava prints one line per test: ✔ passed, ✘ failed, - skipped or todo.
const lines = (re: RegExp) => plain.match(re)?.length ?? 0;
const passed = lines(/^\s*✔/gm);
const failed = lines(/^\s*✘/gm);
const skipped = lines(/^\s*- \[(skip|todo)\]/gm);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(code);
