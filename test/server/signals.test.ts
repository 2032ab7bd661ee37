/**
 * Ctrl-C on `npm start` / `npm run worker` reaches the process more than once (the
 * terminal signals the whole process group; tsx relays the signal again when its
 * child is slow to acknowledge it). A repeat of the same signal at once is the
 * same request and the shutdown finishes cleanly (exit 0); a second signal later,
 * or another signal, still exits at once (exit 1). src/lifecycle.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { DUPLICATE_SIGNAL_WINDOW_MS, duringShutdown } from "../../src/lifecycle.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

function start(stopMs: number) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/server/fixtures/slow-shutdown.ts", String(stopMs)],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output };
}

async function waitFor(p: { child: ChildProcess; output: () => string }, text: string) {
  while (!p.output().includes(text)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`ended before "${text}":\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the same signal again at once is one request: the shutdown finishes, exit 0", async (t) => {
  t.timeout(30_000);
  const p = start(1_500);
  await waitFor(p, "started");
  p.child.kill("SIGINT");
  await waitFor(p, '"shutting down"');
  // The terminal's copy, npm's and tsx's: each within milliseconds of the first.
  p.child.kill("SIGINT");
  p.child.kill("SIGINT");
  const [code] = await p.exited;
  t.is(code, 0, p.output());
  t.regex(p.output(), /the same signal again at once: one request/);
  t.regex(p.output(), /slow resource stopped/);
  t.regex(p.output(), /"exitCode":0,"msg":"shut down"/);
  t.notRegex(p.output(), /exiting now/);
});

test("a second Ctrl-C later still exits at once, with exit 1", async (t) => {
  t.timeout(30_000);
  const p = start(20_000);
  await waitFor(p, "started");
  p.child.kill("SIGINT");
  await waitFor(p, '"shutting down"');
  await new Promise((r) => setTimeout(r, DUPLICATE_SIGNAL_WINDOW_MS + 200));
  p.child.kill("SIGINT");
  const [code] = await p.exited;
  t.is(code, 1, p.output());
  t.regex(p.output(), /second signal during shutdown: exiting now/);
  t.notRegex(p.output(), /slow resource stopped/);
});

test("another signal during shutdown exits at once, with exit 1", async (t) => {
  t.timeout(30_000);
  const p = start(20_000);
  await waitFor(p, "started");
  p.child.kill("SIGTERM");
  await waitFor(p, '"shutting down"');
  p.child.kill("SIGINT");
  const [code] = await p.exited;
  t.is(code, 1, p.output());
  t.regex(p.output(), /"firstSignal":"SIGTERM","msg":"second signal during shutdown: exiting now"/);
});

test("duringShutdown: only the first signal repeated within the window is the same request", (t) => {
  const first = { signal: "SIGINT" as const, at: 10_000 };
  t.is(duringShutdown(first, { signal: "SIGINT", at: 10_000 }), "same-request");
  t.is(duringShutdown(first, { signal: "SIGINT", at: 10_030 }), "same-request");
  t.is(duringShutdown(first, { signal: "SIGINT", at: 10_999 }), "same-request");
  t.is(duringShutdown(first, { signal: "SIGINT", at: 11_000 }), "exit-now");
  t.is(duringShutdown(first, { signal: "SIGINT", at: 15_000 }), "exit-now");
  t.is(duringShutdown(first, { signal: "SIGTERM", at: 10_001 }), "exit-now");
  t.is(duringShutdown(first, { signal: "SIGINT", at: 10_200 }, 100), "exit-now");
  // A shutdown no signal started (a part failed): any signal exits now.
  t.is(duringShutdown(null, { signal: "SIGINT", at: 10_000 }), "exit-now");
});
