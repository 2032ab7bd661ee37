/**
 * A Settle process survives the database going away under a call nobody awaited
 * (graphile-worker's job completion during a database restart, found by `npm run
 * chaos`): it logs and keeps running. Any other unhandled rejection still stops
 * it, in order, with exit code 1.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { isConnectionLoss } from "../../src/connection-loss.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

function start(kind: string) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/server/fixtures/unhandled-rejection.ts", kind],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

test("a lost connection in an unawaited call: logged, and the process keeps running", async (t) => {
  t.timeout(30_000);
  const p = start("connection-loss");
  const exited = once(p.child, "exit");
  while (!p.output().includes("still running")) {
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(p.child.exitCode, null, p.output());
  t.regex(p.output(), /lost its connection; the sweeper re-drives/);
  p.child.kill("SIGTERM");
  const [code] = await exited;
  t.is(code, 0, p.output());
});

test("any other unhandled rejection shuts the process down with exit 1", async (t) => {
  t.timeout(30_000);
  const p = start("bug");
  const [code] = await once(p.child, "exit");
  t.is(code, 1, p.output());
  t.regex(p.output(), /unhandled promise rejection/);
  t.notRegex(p.output(), /still running/);
});

test("isConnectionLoss: server shutdown, connection exceptions and closed sockets, not other errors", (t) => {
  const pgError = (code: string) => Object.assign(new Error("x"), { code });
  t.true(isConnectionLoss(pgError("57P01")));
  t.true(isConnectionLoss(pgError("57P03")));
  t.true(isConnectionLoss(pgError("08006")));
  t.true(isConnectionLoss(pgError("ECONNREFUSED")));
  t.true(isConnectionLoss(new Error("Connection terminated unexpectedly")));
  t.true(isConnectionLoss(new Error("timeout exceeded when trying to connect")));
  t.true(isConnectionLoss(new Error("wrapped", { cause: pgError("57P01") })));
  t.false(isConnectionLoss(pgError("23505")));
  t.false(isConnectionLoss(pgError("40001")));
  t.false(isConnectionLoss(new Error("a bug")));
  t.false(isConnectionLoss("57P01"));
});
