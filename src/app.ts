/**
 * The Settle process: one pg pool shared by the GraphQL API (PostGraphile) and
 * the job runner (graphile-worker), behind one HTTP server that also answers the
 * health and metrics probes. The database must already be migrated; the entry
 * points (main.ts, worker-main.ts) decide where it is and migrate it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TaskList } from "graphile-worker";
import type pg from "pg";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { type Config, weakJwtSecretWarning } from "./config.ts";
import { createPool, endPool } from "./database.ts";
import type { Flows } from "./flows/index.ts";
import { makeAuthenticate } from "./graphql/auth.ts";
import { makeSettlePreset } from "./graphql/preset.ts";
import { createMetrics, type Metrics } from "./http/metrics.ts";
import { checkReadiness } from "./http/readiness.ts";
import { makeWebhookEndpoints, type WebhookHandler } from "./http/webhooks.ts";
import type { Logger } from "./log.ts";
import { type Services, scheduleSweeper } from "./services.ts";
import { startWorker, type Worker } from "./worker.ts";

export interface AppOptions {
  config: Config;
  /** A migrated database; the login role must be a member of the API roles. */
  connectionString: string;
  logger: Logger;
  /**
   * The PSPs, flows and tasks (src/services.ts). Without them the app serves
   * GraphQL reads, the probes, and whatever `taskList` / `flows` say.
   */
  services?: Services;
  /** (Default: the services' tasks, or none) */
  taskList?: TaskList;
  /** The flows behind the PSP-calling mutations. (Default: the services' flows) */
  flows?: Flows;
}

export interface Started {
  port: number;
  /** Settles when the worker runner ends, whether by stop() or by a crash. */
  workerEnded: Promise<{ error?: unknown }>;
}

export interface App {
  readonly server: Server;
  /** Builds the schema, starts the worker, listens on config.port (0: any free port). */
  start(): Promise<Started>;
  /** Stops in dependency order; safe to call more than once or after a failed start. */
  stop(): Promise<void>;
}

/** Connections for GraphQL requests, on top of one per concurrent job and the worker's LISTEN. */
const API_CONNECTIONS = 10;
/** In-flight requests get this long to finish when we shut down. */
const DRAIN_MS = 10_000;

type Handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: Error) => void) => void;

export function createApp(options: AppOptions): App {
  const { config, connectionString, logger, services } = options;
  const flows = options.flows ?? services?.flows;
  const taskList = options.taskList ?? services?.taskList ?? {};
  const log = logger.child({ component: "app" });
  let pool: pg.Pool | undefined;
  let worker: Worker | undefined;
  let metrics: Metrics | undefined;
  let graphql: Handler | undefined;
  let webhooks: Record<string, WebhookHandler> | undefined;
  let releaseGraphql: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { status: "error" });
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const own = path === "/health/live" || path === "/health/ready" || path === "/metrics";
    if (own && req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return sendJson(res, 405, { error: "method not allowed" });
    }
    if (path === "/health/live") return sendJson(res, 200, { status: "ok" });
    if (!pool || !worker || !metrics || !graphql || stopping) {
      return sendJson(res, 503, { status: "unavailable", reason: "starting or stopping" });
    }
    if (path === "/health/ready") {
      const readiness = await checkReadiness({ pool, workerAlive: worker.alive });
      const failed = Object.entries(readiness.checks)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name);
      return sendJson(res, readiness.ready ? 200 : 503, {
        status: readiness.ready ? "ok" : "unavailable",
        ...(failed.length > 0 ? { failed } : {}),
        checks: readiness.checks,
      });
    }
    if (path === "/metrics") {
      const body = await metrics.render();
      res.writeHead(200, { "Content-Type": metrics.contentType });
      res.end(body);
      return;
    }
    if (path?.startsWith("/webhooks/")) {
      const handler = webhooks?.[path.slice("/webhooks/".length)];
      if (!handler) return sendJson(res, 404, { error: `no webhook endpoint ${path}` });
      if (req.method !== "POST") {
        res.setHeader("Allow", "POST");
        return sendJson(res, 405, { error: "method not allowed" });
      }
      return handler(req, res);
    }
    // Everything else is PostGraphile's: /graphql, /graphiql and its assets, or its 404.
    graphql(req, res);
  }

  async function start(): Promise<Started> {
    // Said here, where the API takes the secret: a worker-only process never uses it.
    const weakSecret = weakJwtSecretWarning(config);
    if (weakSecret) log.warn(weakSecret);
    try {
      pool = createPool(connectionString, logger, {
        max: config.workerConcurrency + API_CONNECTIONS + 1,
        applicationName: "settle",
      });
      const { preset, releaseService } = makeSettlePreset({
        pool,
        flows,
        authenticate: makeAuthenticate(config.jwtSecret),
        logger,
      });
      const pgl = postgraphile(preset);
      releaseGraphql = async () => {
        await pgl.release(); // also releases the grafserv instance
        await releaseService();
      };
      // Building the schema now turns a database PostGraphile cannot read into a
      // start-up failure instead of a failure of the first request.
      await pgl.getSchema();
      const serv = pgl.createServ(grafserv);
      // createHandler, not serv.addTo(server): addTo installs its own 'request'
      // listener that answers 404 to every path it does not own, which would race
      // our health and metrics routes. Its only other job, websockets, is off.
      graphql = serv.createHandler();
      if (services) {
        webhooks = makeWebhookEndpoints({
          pool,
          logger,
          hyperswitchSecret: services.psps.hyperswitchWebhookSecret,
          stripeSecret: services.psps.stripeWebhookSecret,
          stripe: services.psps.stripe,
        });
        await scheduleSweeper(pool);
      }
      worker = await startWorker({
        pool,
        concurrency: config.workerConcurrency,
        taskList,
        forbiddenFlags: services?.forbiddenFlags,
        logger,
      });
      metrics = createMetrics({ pool, workerAlive: worker.alive, logger });
      await listen(server, config.port);
      const port = (server.address() as AddressInfo).port;
      services?.psps.deliverWebhooksTo(`http://127.0.0.1:${port}`);
      log.info(
        { port },
        "listening: /graphql /graphiql /webhooks/* /health/live /health/ready /metrics",
      );
      return { port, workerEnded: worker.ended };
    } catch (error) {
      await stop();
      throw error;
    }
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      // Order matters: no new requests, then no new jobs, then nothing uses the
      // schema, then nothing uses the pool.
      await step("http server", () => closeServer(server));
      await step("worker", () => worker?.stop());
      await step("postgraphile", () => releaseGraphql?.());
      await step("pg pool", () => (pool ? endPool(pool) : undefined));
      log.info("stopped");
    })();
    return stopping;
  }

  async function step(name: string, action: () => Promise<unknown> | undefined): Promise<void> {
    try {
      await action();
    } catch (error) {
      // Keep going: a failed step must not leave the later resources running.
      log.warn({ err: error, step: name }, "shutdown step failed");
    }
  }

  return { server, start, stop };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(payload),
    "Cache-Control": "no-store",
  });
  res.end(payload);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Stops accepting, lets in-flight requests finish (bounded), drops idle keep-alives. */
async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
  await closed;
  clearTimeout(deadline);
}
