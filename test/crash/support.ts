/**
 * A world for crash tests: a test database, the fake PSPs running in THIS process,
 * a recording HTTP proxy in front of the fake Stripe (it sees every answer, so a
 * replay is told from a second object, and it can hold a request so that it never
 * reaches Stripe), and real worker processes (`src/worker-main.ts` under tsx)
 * spawned as children, killed with SIGKILL as an OOM killer would.
 *
 * Waits are bounded polls of the database or of the fakes, never fixed sleeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";
import pg from "pg";
import { pino } from "pino";
import type Stripe from "stripe";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../src/psp/hyperswitch/fake/index.ts";
import { type FakeStripe, startFakeStripe } from "../../src/psp/stripe/fake/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");
const silent = pino({ level: "silent" });

// ---------------------------------------------------------------------------
// Bounded polling
// ---------------------------------------------------------------------------

/**
 * Polls `probe` until it returns a truthy value, which it returns. Throws after
 * `timeoutMs`, naming what was awaited and, when given, the state that explains
 * why (worker output, rows).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; explain?: () => Promise<string> } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      const explanation = options.explain ? `\n${await options.explain()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explanation}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------
// A recording (and holding) proxy in front of the fake Stripe
// ---------------------------------------------------------------------------

export interface Exchange {
  seq: number;
  method: string;
  path: string;
  key: string | null;
  /** The API key it was sent with (each worker may be given its own, to tell them apart). */
  apiKey: string | null;
  /** null: never answered (held, then abandoned). */
  status: number | null;
  /** `Idempotent-Replayed: true`: Stripe answered from the key's saved result. */
  replayed: boolean;
  /** The `id` of the object answered (a transfer, a reversal). */
  objectId: string | null;
  /** Parked by a hold rule: never forwarded to Stripe. */
  held: boolean;
}

export interface StripeProxy {
  readonly url: string;
  exchanges(filter?: { method?: string; path?: RegExp }): Exchange[];
  /** From now on, park matching requests (they never reach Stripe) instead of forwarding them. */
  hold(match: { method: string; path: RegExp }): void;
  /** Forward everything again (requests already parked stay parked). */
  stopHolding(): void;
  /** Requests parked so far. */
  heldCount(): number;
  /** Destroys the connections of the parked requests: they never reached Stripe. */
  dropHeld(): void;
  close(): Promise<void>;
}

export async function startStripeProxy(upstreamUrl: string): Promise<StripeProxy> {
  const upstream = new URL(upstreamUrl);
  const recorded: Exchange[] = [];
  const parked = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let holdRule: { method: string; path: RegExp } | null = null;
  let seq = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? "/", "http://proxy").pathname;
      const method = (req.method ?? "GET").toUpperCase();
      const exchange: Exchange = {
        seq: ++seq,
        method,
        path,
        key: headerOf(req, "idempotency-key"),
        apiKey: headerOf(req, "authorization")?.replace(/^Bearer /, "") ?? null,
        status: null,
        replayed: false,
        objectId: null,
        held: false,
      };
      recorded.push(exchange);
      if (holdRule && holdRule.method === method && holdRule.path.test(path)) {
        exchange.held = true;
        parked.add(res);
        res.on("close", () => parked.delete(res));
        return;
      }
      forward(req, body, res, exchange);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, exchange: Exchange) {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    // Forwarded whatever happens to the caller: once sent, the request reached
    // Stripe, as it would if the caller died while waiting for the answer.
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => parts.push(chunk));
        answer.on("end", () => {
          const text = Buffer.concat(parts).toString("utf8");
          exchange.status = answer.statusCode ?? 0;
          exchange.replayed = headerOf(answer, "idempotent-replayed") === "true";
          try {
            const parsed = JSON.parse(text) as { id?: unknown };
            exchange.objectId = typeof parsed.id === "string" ? parsed.id : null;
          } catch {
            exchange.objectId = null;
          }
          const back = { ...answer.headers };
          for (const name of ["connection", "keep-alive", "transfer-encoding", "content-length"]) {
            delete back[name];
          }
          if (res.destroyed) return;
          res.writeHead(exchange.status, back);
          res.end(text);
        });
      },
    );
    out.on("error", () => {
      exchange.status = 502;
      if (!res.destroyed) res.socket?.destroy();
    });
    out.end(body);
  }

  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => done());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    exchanges: (filter = {}) =>
      recorded
        .filter(
          (e) =>
            (!filter.method || e.method === filter.method) &&
            (!filter.path || filter.path.test(e.path)),
        )
        .map((e) => ({ ...e })),
    hold(match) {
      holdRule = match;
    },
    stopHolding() {
      holdRule = null;
    },
    heldCount: () => recorded.filter((e) => e.held).length,
    dropHeld() {
      for (const res of parked) res.socket?.destroy();
      parked.clear();
    },
    close: () =>
      new Promise<void>((done) => {
        for (const res of parked) res.socket?.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

function headerOf(message: IncomingMessage, name: string): string | null {
  const value = message.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

// ---------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------

export interface WorkerProcess {
  readonly name: string;
  /** The tsx launcher (the direct child). */
  readonly child: ChildProcess;
  output(): string;
  /** The last lines of its output, for failure messages. */
  tail(lines?: number): string;
  exited(): boolean;
}

/** Every descendant of `pid` (children first, then theirs), read from /proc. */
export async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => null);
    if (!stat) continue;
    // pid (comm) state ppid …: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parents.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [child, parent] of parents) if (frontier.includes(parent)) next.push(child);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** Alive and not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (!stat) return false;
  return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

export interface CrashWorld {
  database: TestDatabase;
  pool: pg.Pool;
  stripe: FakeStripe;
  hyperswitch: FakeHyperswitch;
  proxy: StripeProxy;
  /** Starts `npm run worker`'s entry point as a child and waits until its runner has started. */
  startWorker(name: string, env?: Record<string, string>): Promise<WorkerProcess>;
  /**
   * SIGKILL to the node process that runs worker-main and to the tsx launcher
   * above it, as an OOM killer would: no shutdown code runs, sockets just close.
   */
  killHard(worker: WorkerProcess): Promise<void>;
  /** Everything the test should see when a wait fails: every worker's last lines. */
  workerTails(): string;
}

export const JWT_SECRET = "crash-test-jwt-secret-0123456789abcdef";

export async function crashWorld(t: ExecutionContext): Promise<CrashWorld> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 6 });
  const stripe = await startFakeStripe({ logger: silent });
  const hyperswitch = await startFakeHyperswitch({ logger: silent });
  const proxy = await startStripeProxy(stripe.url);
  const workers: WorkerProcess[] = [];

  async function killHard(worker: WorkerProcess): Promise<void> {
    const pid = worker.child.pid;
    if (pid === undefined || worker.exited()) return;
    const below = await descendantsOf(pid);
    const exited = once(worker.child, "exit");
    // The worker's node process first (it holds the database connections), then tsx.
    for (const child of below.reverse()) {
      try {
        process.kill(child, "SIGKILL");
      } catch {
        // already gone
      }
    }
    worker.child.kill("SIGKILL");
    await exited;
    await until(
      `the processes of ${worker.name} to be gone`,
      async () => {
        for (const child of below) if (await isRunning(child)) return false;
        return true;
      },
      { timeoutMs: 10_000 },
    );
  }

  t.teardown(async () => {
    for (const worker of workers) await killHard(worker).catch(() => undefined);
    await proxy.close();
    await stripe.close();
    await hyperswitch.close();
    await pool.end();
    await database.drop();
  });

  const workerTails = () =>
    workers.map((w) => `--- ${w.name} (last lines) ---\n${w.tail(40)}`).join("\n");

  async function startWorker(
    name: string,
    extra: Record<string, string> = {},
  ): Promise<WorkerProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The test run's own settings must not leak into the worker.
    for (const key of Object.keys(env)) {
      if (
        /^(DATABASE_URL|JWT_SECRET|HYPERSWITCH_|STRIPE_|LOG_LEVEL|SWEEP_|TRANSFER_|REVERSAL_|WORKER_|PSP_)/.test(
          key,
        )
      )
        delete env[key];
    }
    Object.assign(env, {
      DATABASE_URL: database.url,
      JWT_SECRET,
      HYPERSWITCH_BASE_URL: hyperswitch.url,
      HYPERSWITCH_API_KEY: hyperswitch.apiKey,
      HYPERSWITCH_WEBHOOK_SECRET: hyperswitch.webhookSecret,
      STRIPE_SECRET_KEY: "sk_test_crash",
      STRIPE_API_BASE: proxy.url,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      SWEEP_INTERVAL: "1s",
      TRANSFER_RETRY_BACKOFF_BASE: "1s",
      REVERSAL_BACKOFF_BASE: "1s",
      STRIPE_MAX_REQUESTS_PER_SECOND: "200",
      WORKER_CONCURRENCY: "5",
      LOG_LEVEL: "info",
      ...extra,
    });
    const child = spawn(process.execPath, [TSX_CLI, "src/worker-main.ts"], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      // Keep memory bounded on long runs: the head (start-up) and the recent tail matter.
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    let exitedFlag = false;
    child.on("exit", () => {
      exitedFlag = true;
    });
    const worker: WorkerProcess = {
      name,
      child,
      output: () => output,
      tail: (lines = 30) => output.trimEnd().split("\n").slice(-lines).join("\n"),
      exited: () => exitedFlag,
    };
    workers.push(worker);
    await until(
      `${name} to start its runner`,
      () => {
        if (exitedFlag) throw new Error(`${name} exited during start-up:\n${output}`);
        return /"msg":"worker started"/.test(output);
      },
      { timeoutMs: 60_000, explain: async () => output },
    );
    return worker;
  }

  return { database, pool, stripe, hyperswitch, proxy, startWorker, killHard, workerTails };
}

// ---------------------------------------------------------------------------
// Rows, made with plain SQL the way the flows make them
// ---------------------------------------------------------------------------

export interface Order {
  orderId: string;
  sellerIds: string[];
  accounts: string[];
  /** Seller transfer ids, in seller order (empty while the order is not paid). */
  transferIds: string[];
  total: number;
}

/**
 * An order of one item per seller (fresh sellers), moved to payment_pending; then
 * paid through settle_private.apply_payment_succeeded unless `paid` is false, which
 * creates its transfer rows and their jobs in one transaction.
 */
export async function makeOrder(
  pool: pg.Pool,
  items: Array<{ amount: number; fee: number }>,
  options: { paid?: boolean } = {},
): Promise<Order> {
  const c = await pool.connect();
  let orderId: string;
  const sellerIds: string[] = [];
  const accounts: string[] = [];
  const total = items.reduce((sum, item) => sum + item.amount, 0);
  try {
    await c.query("begin");
    const buyer = await c.query("insert into settle.buyers (email) values ($1) returning id", [
      `crash-${randomUUID()}@x.example`,
    ]);
    for (const _ of items) {
      const account = `acct_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const seller = await c.query(
        "insert into settle.sellers (stripe_account_id, name) values ($1, 'S') returning id",
        [account],
      );
      sellerIds.push(seller.rows[0].id);
      accounts.push(account);
    }
    const order = await c.query(
      "insert into settle.orders (buyer_id, currency, total_amount) values ($1, 'EUR', $2) returning id",
      [buyer.rows[0].id, total],
    );
    orderId = order.rows[0].id;
    for (const [n, item] of items.entries()) {
      await c.query(
        "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, $4)",
        [orderId, sellerIds[n], item.amount, item.fee],
      );
    }
    await c.query("commit");
  } catch (error) {
    await c.query("rollback");
    throw error;
  } finally {
    c.release();
  }
  await pool.query("update settle.orders set status = 'payment_pending' where id = $1", [orderId]);
  if (options.paid === false) return { orderId, sellerIds, accounts, transferIds: [], total };
  const outcome = await pool.query(
    "select settle_private.apply_payment_succeeded($1, $2, now()) as outcome",
    [orderId, orderId],
  );
  if (outcome.rows[0].outcome !== "applied") {
    throw new Error(`payment_succeeded for ${orderId}: ${outcome.rows[0].outcome}`);
  }
  return {
    orderId,
    sellerIds,
    accounts,
    transferIds: await transfersOf(pool, orderId, sellerIds),
    total,
  };
}

/** The order's transfer rows, in the order of `sellerIds`. */
export async function transfersOf(
  pool: pg.Pool,
  orderId: string,
  sellerIds: string[],
): Promise<string[]> {
  const { rows } = await pool.query(
    `select t.id from settle.seller_transfers t
     join unnest($2::uuid[]) with ordinality s(id, n) on s.id = t.seller_id
     where t.order_id = $1 order by s.n, t.created_at`,
    [orderId, sellerIds],
  );
  return rows.map((r) => r.id as string);
}

/**
 * A refund that succeeded at the PSP, applied as the webhook task applies it
 * (settle_private.apply_refund_succeeded): reversal rows and their jobs for made
 * transfers, shrunk or cancelled transfers for the others. Returns the refund id.
 */
export async function succeededRefund(
  pool: pg.Pool,
  orderId: string,
  amount: number,
): Promise<string> {
  const { rows } = await pool.query(
    "insert into settle.refunds (order_id, amount, reason) values ($1, $2, 'crash test') returning id",
    [orderId, amount],
  );
  const refundId: string = rows[0].id;
  const outcome = await pool.query(
    "select settle_private.apply_refund_succeeded($1, $2, now()) as outcome",
    [refundId, `ref_${refundId}`],
  );
  if (outcome.rows[0].outcome !== "applied") {
    throw new Error(`refund_succeeded for ${refundId}: ${outcome.rows[0].outcome}`);
  }
  return refundId;
}

/** Rows of ops.money_invariants: one per broken invariant (empty when the books hold). */
export async function brokenInvariants(pool: pg.Pool): Promise<unknown[]> {
  return (await pool.query("select * from ops.money_invariants")).rows;
}

export interface JobRow {
  id: string;
  key: string | null;
  locked_at: Date | null;
  locked_by: string | null;
  attempts: number;
  last_error: string | null;
}

/** graphile-worker's jobs for a task and payload row id (the live one and any retired ones). */
export async function jobsFor(pool: pg.Pool, task: string, rowId: string): Promise<JobRow[]> {
  const { rows } = await pool.query(
    `select j.id::text, j.key, j.locked_at, j.locked_by, j.attempts, j.last_error
     from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id
     where k.identifier = $1 and j.payload->>'id' = $2 order by j.id`,
    [task, rowId],
  );
  return rows as JobRow[];
}

/** Who holds the row's locked jobs (graphile-worker's locked_by). */
export async function jobLockers(pool: pg.Pool, task: string, rowId: string): Promise<string[]> {
  return (await jobsFor(pool, task, rowId))
    .filter((j) => j.locked_at !== null && j.locked_by !== null)
    .map((j) => j.locked_by!);
}

/** A job of the row is still locked by one of `lockers` (a dead worker's job is not released). */
export async function stillLockedBy(
  pool: pg.Pool,
  task: string,
  rowId: string,
  lockers: string[],
): Promise<boolean> {
  return (await jobsFor(pool, task, rowId)).some(
    (j) => j.locked_at !== null && j.locked_by !== null && lockers.includes(j.locked_by),
  );
}

/**
 * True when another transaction holds `table`'s row `id` (FOR NO KEY UPDATE or
 * stronger): the probe's own SKIP LOCKED read comes back empty.
 */
export async function rowLocked(pool: pg.Pool, table: string, id: string): Promise<boolean> {
  const { rows } = await pool.query(
    `select id from settle.${table} where id = $1 for no key update skip locked`,
    [id],
  );
  const exists = await pool.query(`select 1 from settle.${table} where id = $1`, [id]);
  return exists.rowCount === 1 && rows.length === 0;
}

/** Transfers at the fake Stripe whose metadata name our row. */
export function stripeTransfersOf(stripe: FakeStripe, rowId: string): Stripe.Transfer[] {
  return stripe.transfers().filter((tr) => tr.metadata?.seller_transfer_id === rowId);
}

/** Reversals at the fake Stripe whose metadata name our row (all transfers, all pages). */
export function stripeReversalsOf(stripe: FakeStripe, rowId: string): Stripe.TransferReversal[] {
  return stripe
    .transfers()
    .flatMap((tr) => tr.reversals.data)
    .filter((r) => r.metadata?.transfer_reversal_id === rowId);
}

/**
 * What the keyed POSTs prove about idempotency: per key, the first answer made the
 * object and every later one was a replay of that same object; no key was ever
 * used by two requests at once (409) or with other parameters (400).
 */
export function keyedPostProblems(exchanges: Exchange[]): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, Exchange[]>();
  for (const e of exchanges) {
    if (e.held && e.status === null) continue; // never reached Stripe
    if (!e.key) {
      problems.push(`request ${e.seq} ${e.method} ${e.path} has no Idempotency-Key`);
      continue;
    }
    byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  }
  for (const [key, list] of byKey) {
    const [first, ...rest] = list;
    if (!first) continue;
    if (first.status !== 200 || first.replayed) {
      problems.push(`key ${key}: first answer ${first.status}, replayed=${first.replayed}`);
    }
    for (const e of rest) {
      if (e.status !== 200 || !e.replayed || e.objectId !== first.objectId) {
        problems.push(
          `key ${key}: request ${e.seq} answered ${e.status}, replayed=${e.replayed}, ` +
            `object ${e.objectId} (first: ${first.objectId})`,
        );
      }
    }
  }
  return problems;
}

/** Stores a Hyperswitch event as the webhook endpoint does; its trigger enqueues the processing job. */
export async function storeHyperswitchEvent(
  pool: pg.Pool,
  type: "payment_succeeded" | "refund_succeeded",
  object: Record<string, unknown>,
): Promise<string> {
  const at = new Date().toISOString();
  const eventId = `evt_${randomUUID()}`;
  const payload = {
    merchant_id: "merchant_fake",
    event_id: eventId,
    event_type: type,
    timestamp: at,
    content:
      type === "payment_succeeded"
        ? { type: "payment_details", object: { status: "succeeded", updated: at, ...object } }
        : { type: "refund_details", object: { status: "succeeded", updated_at: at, ...object } },
  };
  const { rows } = await pool.query(
    "insert into settle.webhook_events (provider, event_id, event_type, payload) values ('hyperswitch', $1, $2, $3) returning id",
    [eventId, type, JSON.stringify(payload)],
  );
  return rows[0].id;
}

/**
 * A refund the API sent to Hyperswitch (processing, with its PSP id), and its
 * `refund_succeeded` webhook stored for the workers to apply. Returns the refund id.
 */
export async function refundViaWebhook(
  pool: pg.Pool,
  order: Pick<Order, "orderId">,
  amount: number,
): Promise<string> {
  const { rows } = await pool.query(
    "insert into settle.refunds (order_id, amount, reason) values ($1, $2, 'crash test') returning id",
    [order.orderId, amount],
  );
  const refundId: string = rows[0].id;
  await pool.query(
    "update settle.refunds set status = 'processing', hyperswitch_refund_id = id::text where id = $1",
    [refundId],
  );
  await storeHyperswitchEvent(pool, "refund_succeeded", {
    refund_id: refundId,
    payment_id: order.orderId,
    amount,
    currency: "EUR",
    connector: "fake",
  });
  return refundId;
}

/** Backends waiting for a lock that the backend `pid` holds. */
export async function blockedBy(pool: pg.Pool, pid: number): Promise<number[]> {
  const { rows } = await pool.query(
    "select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))",
    [pid],
  );
  return rows.map((r) => r.pid as number);
}

/** The recorded transitions of one row, oldest first. */
export async function transitionsOf(
  pool: pg.Pool,
  entityId: string,
): Promise<Array<{ from_status: string | null; to_status: string; actor: string }>> {
  const { rows } = await pool.query(
    "select from_status, to_status, actor from settle.state_transitions where entity_id = $1 order by at, id",
    [entityId],
  );
  return rows;
}
