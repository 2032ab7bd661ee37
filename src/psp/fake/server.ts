/**
 * The HTTP shell shared by the fake PSPs: a real server on loopback that records
 * every request (headers and raw body, for tests to inspect), applies injected
 * faults, and serves control calls under `/__fake/…` that no real PSP has.
 * Provider logic (state, wire format, idempotency) lives in each provider's fake.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "../../log.ts";
import { Conditions, type ConditionsInput, type ConditionsState } from "./conditions.ts";
import { type Fault, FaultInjector, type FaultRuleInput } from "./faults.ts";

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
}

export interface HandlerContext {
  /**
   * An afterCommit fault that will replace or swallow this response. A provider
   * may need to know (Stripe saves a 5xx as the idempotency key's result).
   */
  fault: Fault | null;
}

export type FakeHandler = (req: FakeRequest, ctx: HandlerContext) => Promise<FakeResponse>;

export interface RecordedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the client got: a status, or how the fake failed it. */
  outcome: number | "timeout" | "dropped";
}

export interface FakeServerOptions {
  name: string;
  handler: FakeHandler;
  /** Extra control calls: POST/GET /__fake/<name> with a JSON body. */
  controls?: Record<string, (body: unknown, query: URLSearchParams) => unknown | Promise<unknown>>;
  /** Forget the provider's state (POST /__fake/reset). */
  onReset?: () => void;
  /** The body of an injected `status` fault that names none. */
  defaultErrorBody?: (status: number) => unknown;
  /**
   * Headers every PSP answer carries (a request id), fault answers included;
   * the handler's own headers win over them.
   */
  responseHeaders?: () => Record<string, string>;
  logger?: Logger;
  random?: () => number;
}

export interface FakeServer {
  readonly name: string;
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  requests(filter?: { method?: string; path?: string | RegExp }): RecordedRequest[];
  clearRequests(): void;
  inject(rule: FaultRuleInput): void;
  /** Standing latency and rate limit (POST /__fake/conditions); returns them with the 429 count. */
  setConditions(input: ConditionsInput): ConditionsState;
  conditions(): ConditionsState;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startFakeServer(
  options: FakeServerOptions,
  listen: { host?: string; port?: number } = {},
): Promise<FakeServer> {
  const { name, handler, logger } = options;
  const faults = new FaultInjector(options.random);
  const conditions = new Conditions();
  let recorded: RecordedRequest[] = [];
  let seq = 0;
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const request: FakeRequest = {
        method: (req.method ?? "GET").toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody: Buffer.concat(chunks).toString("utf8"),
      };
      serve(request, res).catch((error: unknown) => {
        logger?.error({ err: error, fake: name, path: request.path }, "fake PSP handler failed");
        if (!res.headersSent) send(res, { status: 500, body: { error: "fake PSP bug" } });
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function serve(req: FakeRequest, res: ServerResponse): Promise<void> {
    if (req.path.startsWith("/__fake/")) return send(res, await control(req));
    const reply = (response: FakeResponse) =>
      send(res, { ...response, headers: { ...options.responseHeaders?.(), ...response.headers } });
    const record: RecordedRequest = {
      seq: ++seq,
      at: new Date().toISOString(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      headers: req.headers,
      body: req.rawBody,
      outcome: 0,
    };
    recorded.push(record);
    if (!conditions.admit()) {
      record.outcome = 429;
      return reply({
        status: 429,
        body: options.defaultErrorBody?.(429) ?? { error: "HTTP 429" },
      });
    }
    const { latencyMs } = conditions.get();
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const fault = faults.take(req.method, req.path);
    if (fault) logger?.debug({ fake: name, path: req.path, fault }, "fake PSP injects a fault");
    if (fault?.kind === "latency") await new Promise((r) => setTimeout(r, fault.ms));
    const before = fault && fault.kind !== "latency" && !fault.afterCommit ? fault : null;
    const after = fault && fault.kind !== "latency" && fault.afterCommit ? fault : null;
    if (before) return fail(before, res, record, reply);
    const response = await handler(req, { fault: after });
    if (after) return fail(after, res, record, reply);
    record.outcome = response.status;
    reply(response);
  }

  function fail(
    fault: Fault,
    res: ServerResponse,
    record: RecordedRequest,
    reply: (response: FakeResponse) => void,
  ): void {
    switch (fault.kind) {
      case "status": {
        record.outcome = fault.status;
        reply({
          status: fault.status,
          headers: fault.headers,
          body: fault.body ??
            options.defaultErrorBody?.(fault.status) ?? { error: `HTTP ${fault.status}` },
        });
        return;
      }
      case "timeout":
        // Hold the request open: the client's timeout ends it (or close() does).
        record.outcome = "timeout";
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      case "drop":
        record.outcome = "dropped";
        res.socket?.destroy();
        return;
      case "latency":
        return;
    }
  }

  async function control(req: FakeRequest): Promise<FakeResponse> {
    const what = req.path.slice("/__fake/".length);
    const body = req.rawBody ? (JSON.parse(req.rawBody) as unknown) : undefined;
    try {
      if (what === "requests") {
        if (req.method === "DELETE") {
          recorded = [];
          return { status: 200, body: { ok: true } };
        }
        const path = req.query.get("path");
        return {
          status: 200,
          body: {
            requests: filterRecorded({
              method: req.query.get("method") ?? undefined,
              path: path ? new RegExp(path) : undefined,
            }),
          },
        };
      }
      if (what === "faults") {
        if (req.method === "DELETE") faults.clear();
        else if (req.method === "POST")
          for (const rule of [body].flat()) faults.add(rule as FaultRuleInput);
        return { status: 200, body: { faults: faults.pending() } };
      }
      if (what === "conditions") {
        return {
          status: 200,
          body: {
            conditions: req.method === "POST" ? conditions.set(body ?? {}) : conditions.get(),
          },
        };
      }
      if (what === "reset" && req.method === "POST") {
        faults.clear();
        conditions.reset();
        recorded = [];
        options.onReset?.();
        return { status: 200, body: { ok: true } };
      }
      const custom = options.controls?.[what];
      if (custom) return { status: 200, body: (await custom(body, req.query)) ?? { ok: true } };
      return { status: 404, body: { error: `no control call ${req.path}` } };
    } catch (error) {
      return {
        status: 400,
        body: { error: error instanceof Error ? error.message : String(error) },
      };
    }
  }

  function filterRecorded(
    filter: { method?: string; path?: string | RegExp } = {},
  ): RecordedRequest[] {
    return recorded.filter(
      (r) =>
        (!filter.method || r.method === filter.method.toUpperCase()) &&
        (!filter.path ||
          (typeof filter.path === "string" ? r.path === filter.path : filter.path.test(r.path))),
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port ?? 0, listen.host ?? "127.0.0.1", () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  logger?.info({ fake: name, port }, "fake PSP listening");

  return {
    name,
    url: `http://${host}:${port}`,
    port,
    faults,
    requests: filterRecorded,
    clearRequests: () => {
      recorded = [];
    },
    inject: (rule) => faults.add(rule),
    setConditions: (input) => conditions.set(input),
    conditions: () => conditions.get(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, response: FakeResponse): void {
  const isText = typeof response.body === "string";
  const payload =
    response.body === undefined
      ? ""
      : isText
        ? (response.body as string)
        : JSON.stringify(response.body);
  res.writeHead(response.status, {
    "Content-Type": isText ? "text/plain; charset=utf-8" : "application/json",
    ...response.headers,
  });
  res.end(payload);
}
