/**
 * One HTTP exchange with Hyperswitch: auth header, JSON body, timeout covering the
 * whole exchange (connection to last byte), and every failure turned into a
 * PspError of the right kind. What the answer means is the client's business.
 */
import type { Logger } from "../../log.ts";
import { PspError } from "../errors.ts";
import { errorFromResponse, errorFromTransport, safeJson } from "./errors.ts";

export interface HyperswitchClientOptions {
  /** e.g. https://sandbox.hyperswitch.io, or a fake's URL. */
  baseUrl: string;
  /** Sent as the `api-key` header; never logged. */
  apiKey: string;
  /** Per call, from connecting to the last byte of the answer. */
  timeoutMs: number;
  logger: Logger;
}

export interface HyperswitchRequest {
  method: "GET" | "POST";
  path: string;
  body?: Record<string, unknown>;
  /** Also sent as `Idempotency-Key`, which Hyperswitch ignores (psp-facts A3) but proxies and logs may use. */
  idempotencyKey?: string;
}

export interface HyperswitchAnswer {
  status: number;
  json: unknown;
  requestId: string | null;
}

export async function exchange(
  options: HyperswitchClientOptions,
  log: Logger,
  request: HyperswitchRequest,
): Promise<HyperswitchAnswer> {
  const url = new URL(request.path.replace(/^\//, ""), withTrailingSlash(options.baseUrl));
  const headers: Record<string, string> = {
    Accept: "application/json",
    "api-key": options.apiKey,
  };
  if (request.body) headers["Content-Type"] = "application/json";
  if (request.idempotencyKey) headers["Idempotency-Key"] = request.idempotencyKey;

  const started = Date.now();
  const context = { method: request.method, path: request.path };
  let status: number;
  let rawBody: string;
  let requestId: string | null;
  try {
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: request.body ? JSON.stringify(request.body) : undefined,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    status = response.status;
    requestId = response.headers.get("x-request-id");
    // Read inside the try: a connection cut mid-body or a timeout while reading is
    // as unknown as one before the headers.
    rawBody = await response.text();
  } catch (error) {
    const failure = errorFromTransport(error, options.timeoutMs);
    log.warn(
      { ...context, ms: Date.now() - started, failure: failure.summary() },
      "hyperswitch call failed",
    );
    throw failure;
  }

  const logged = { ...context, status, requestId, ms: Date.now() - started };
  if (status < 200 || status > 299) {
    const failure = errorFromResponse(status, rawBody, requestId);
    log.warn({ ...logged, failure: failure.summary() }, "hyperswitch call failed");
    throw failure;
  }
  const json = safeJson(rawBody);
  if (json === undefined) {
    // A 2xx we cannot read: the call did something we cannot see.
    throw new PspError({
      provider: "hyperswitch",
      kind: "unknown",
      code: null,
      message: `HTTP ${status} with a body that is not JSON`,
      httpStatus: status,
      requestId,
    });
  }
  if (typeof json === "object" && json !== null && "error" in json) {
    // DomainError (`type: "blocked"`) comes with HTTP 200 and an error body: permanent.
    const failure = errorFromResponse(status, rawBody, requestId);
    log.warn({ ...logged, failure: failure.summary() }, "hyperswitch call failed");
    throw failure;
  }
  log.debug(logged, "hyperswitch call");
  return { status, json, requestId };
}

/**
 * A base URL may carry a path prefix (a proxy): `new URL("payments", "https://h/base/")`
 * keeps `/base`, which an absolute path or a base without the slash would drop.
 */
function withTrailingSlash(baseUrl: string): string {
  return baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
}
