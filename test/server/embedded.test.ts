/**
 * `npm start` with no DATABASE_URL: the embedded cluster starts in SETTLE_DATA_DIR,
 * the service becomes ready, SIGTERM shuts everything down in order with exit 0
 * and no postgres left behind, and a second start finds the data of the first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { DEV_JWT_SECRET } from "../../src/config.ts";
import { dataOf, graphql, signJwt } from "./helpers.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

interface Service {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs src/main.ts the way `npm start` does (tsx), with only our settings in the environment. */
async function startService(dataDir: string, entry = "src/main.ts"): Promise<Service> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, SETTLE_DATA_DIR: dataDir, PORT: String(port) };
  // The test run's own database settings must not leak into the service.
  for (const name of Object.keys(env)) {
    if (/^(DATABASE_URL|JWT_SECRET|HYPERSWITCH_|STRIPE_|LOG_LEVEL)/.test(name)) delete env[name];
  }
  const child = spawn(process.execPath, [TSX_CLI, entry], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}):\n${output}`);
    const status = await fetch(`${url}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { child, url, output: () => output };
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill("SIGKILL");
  throw new Error(`not ready within 60 s:\n${output}`);
}

async function stopService(service: Service): Promise<number | null> {
  const exited = once(service.child, "exit");
  service.child.kill("SIGTERM");
  const [code] = (await exited) as [number | null];
  return code;
}

/** PIDs of processes whose command line names `dataDir` (postgres runs with -D <dataDir>). */
async function processesUsing(dataDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(dataDir)) pids.push(Number(entry));
  }
  return pids;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

test("npm start on the embedded cluster: ready, clean SIGTERM, data kept across restarts", async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), "settle-embedded-"));
  await chmod(dir, 0o755); // the cluster may run as OS user `postgres` (when we are root)
  const dataDir = join(dir, ".data");
  const pgDir = join(dataDir, "pg");
  let service: Service | undefined;
  t.teardown(async () => {
    if (service && service.child.exitCode === null) await stopService(service);
    await rm(dir, { recursive: true, force: true });
  });
  const platform = await signJwt({ role: "settle_platform" }, { secret: DEV_JWT_SECRET });

  service = await startService(dataDir);
  t.regex(
    service.output(),
    /PSP credentials unset: running against FAKE PSPs started in this process/,
  );
  t.true((await processesUsing(pgDir)).length > 0, "the embedded postgres runs on the data dir");
  const registered = await graphql(
    service.url,
    `mutation { registerBuyer(input: { email: "kept@example.com" }) { buyer { id } } }`,
    { token: platform },
  );
  t.deepEqual(registered.body.errors, undefined);
  const buyerId = dataOf<{ buyer: { id: string } }>(registered, "registerBuyer").buyer.id;

  t.is(await stopService(service), 0, service.output());
  t.deepEqual(await processesUsing(pgDir), [], "no postgres survives the service");
  t.regex(service.output(), /embedded PostgreSQL stopped/);

  service = await startService(dataDir);
  const found = await graphql(
    service.url,
    `query ($id: UUID!) { buyerById(id: $id) { id email } }`,
    { token: platform, variables: { id: buyerId } },
  );
  t.deepEqual(found.body.data?.buyerById, { id: buyerId, email: "kept@example.com" });
  t.is(await stopService(service), 0, service.output());
  t.deepEqual(await processesUsing(pgDir), [], "no postgres survives the second run either");
});

test("kill -9 leaves an orphaned postgres that the next start stops; a worker beside a service shares its cluster", async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), "settle-embedded-"));
  await chmod(dir, 0o755);
  const dataDir = join(dir, ".data");
  const pgDir = join(dataDir, "pg");
  const running: Service[] = [];
  t.teardown(async () => {
    for (const s of running) {
      if (s.child.exitCode === null && s.child.signalCode === null) await stopService(s);
    }
    await rm(dir, { recursive: true, force: true });
  });

  const first = await startService(dataDir);
  running.push(first);
  const postmaster = Number((await readFile(join(pgDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const stat = await readFile(`/proc/${postmaster}/stat`, "utf8");
  const owner = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  // Kill the node process that started postgres, and tsx above it, as an OOM killer would.
  process.kill(owner, "SIGKILL");
  first.child.kill("SIGKILL");
  await once(first.child, "exit");
  t.true((await processesUsing(pgDir)).includes(postmaster), "postgres outlives its killed owner");

  const second = await startService(dataDir);
  running.push(second);
  t.regex(second.output(), /stopping an orphaned embedded PostgreSQL left by a killed run/);
  t.false((await processesUsing(pgDir)).includes(postmaster), "the orphan was stopped");

  // `npm run worker` beside `npm start` uses the running cluster and leaves it running.
  const worker = spawn(process.execPath, [TSX_CLI, "src/worker-main.ts"], {
    cwd: ROOT,
    env: { ...process.env, SETTLE_DATA_DIR: dataDir, DATABASE_URL: "", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let workerOutput = "";
  worker.stdout?.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
  worker.stderr?.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (
    !/worker started/.test(workerOutput) &&
    Date.now() < deadline &&
    worker.exitCode === null
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  t.regex(workerOutput, /already run by another Settle process: sharing it/);
  const exited = once(worker, "exit");
  worker.kill("SIGTERM");
  t.is((await exited)[0], 0, workerOutput);
  const ready = await fetch(`${second.url}/health/ready`);
  t.is(ready.status, 200, "the service's database survived the worker's exit");

  t.is(await stopService(second), 0, second.output());
  t.deepEqual(await processesUsing(pgDir), []);
});
