/**
 * The HTTP layer of the fake Stripe, between the shell (src/psp/fake/server.ts)
 * and the routes: API key check, `Stripe-Account`, form parsing, idempotency,
 * and the headers every Stripe response has (`request-id`, `stripe-version`,
 * `idempotency-key` echoed). It also saves an afterCommit 5xx fault as the key's
 * result, as Stripe saves the 500 it answered once the endpoint had started.
 */
import type { FakeHandler, FakeRequest, FakeResponse, HandlerContext } from "../../fake/server.ts";
import type { AccountRef } from "./balances.ts";
import type { FakeEventType } from "./events.ts";
import type { ExecutionLog } from "./executions.ts";
import { canonical, FormError, type FormObject, parseForm } from "./form.ts";
import { type IdempotencyStore, replayed, type SavedResponse } from "./idempotency.ts";
import type { Route } from "./routes.ts";
import { defaultErrorBody, errorBody, newRequestId, StripeApiError } from "./wire.ts";

export interface HandlerDeps {
  routes: Route[];
  idempotency: IdempotencyStore;
  /** Every keyed POST that ran (not a replay), with what it made. */
  executions: ExecutionLog;
  apiVersion: string;
  /** Time a POST spends executing, so concurrent requests can meet (409). */
  processingDelayMs: () => number;
  emit(
    type: FakeEventType,
    object: unknown,
    account: AccountRef,
    request: { id: string; idempotencyKey: string | null },
  ): void;
}

export function createStripeHandler(deps: HandlerDeps): FakeHandler {
  return async (req, ctx) => {
    const requestId = newRequestId();
    const key = header(req, "idempotency-key");
    const response = await respond(deps, req, ctx, requestId, key);
    return {
      ...response,
      headers: {
        ...response.headers,
        "request-id": requestId,
        "stripe-version": header(req, "stripe-version") ?? deps.apiVersion,
        ...(key !== null && req.method === "POST" ? { "idempotency-key": key } : {}),
      },
    };
  };
}

async function respond(
  deps: HandlerDeps,
  req: FakeRequest,
  ctx: HandlerContext,
  requestId: string,
  key: string | null,
): Promise<FakeResponse> {
  const auth = header(req, "authorization");
  if (!auth || !/^Bearer sk_\S+$/.test(auth)) {
    return {
      status: 401,
      body: errorBody({
        type: "authentication_error",
        message: auth
          ? "Invalid API Key provided."
          : "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      }),
    };
  }
  const account = header(req, "stripe-account");
  if (account !== null && !/^acct_[A-Za-z0-9]+$/.test(account)) {
    return {
      status: 403,
      body: errorBody({
        type: "invalid_request_error",
        code: "account_invalid",
        message: `The provided key does not have access to account '${account}' (or that account does not exist).`,
      }),
    };
  }
  const match = matchRoute(deps.routes, req);
  if (!match) {
    return {
      status: 404,
      body: errorBody({
        type: "invalid_request_error",
        message: `Unrecognized request URL (${req.method}: ${req.path}). Please see https://docs.stripe.com or we can help at https://support.stripe.com/.`,
      }),
    };
  }
  let params: FormObject;
  try {
    params = parseForm(req.method === "POST" ? req.rawBody : req.query.toString());
  } catch (error) {
    if (!(error instanceof FormError)) throw error;
    return new StripeApiError(
      400,
      { type: "invalid_request_error", param: error.param, message: error.message },
      false,
    ).response();
  }
  const execute = () =>
    runRoute(deps, match.route, { account, params, ids: match.ids, requestId, key });

  // Stripe ignores Idempotency-Key on GET and DELETE.
  if (req.method !== "POST" || key === null) return (await execute()).response;
  if (key.length > 255) {
    return new StripeApiError(
      400,
      {
        type: "invalid_request_error",
        param: "Idempotency-Key",
        message: "Idempotency-Key must be at most 255 characters long.",
      },
      false,
    ).response();
  }

  const scope = account ?? "platform";
  const fingerprint = canonical({ method: req.method, path: req.path, params });
  const admission = deps.idempotency.admit(scope, key, fingerprint);
  switch (admission.kind) {
    case "replay":
      return replayed(admission.response);
    case "in_use":
      return { status: 409, body: defaultErrorBody(409) };
    case "mismatch":
      return {
        status: 400,
        body: errorBody({
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        }),
      };
    case "run":
      break;
  }
  let outcome: { response: FakeResponse; saved: boolean } | null = null;
  try {
    outcome = await execute();
  } finally {
    deps.idempotency.finish(scope, key, outcome ? toSave(outcome, ctx, requestId) : null);
  }
  const made = outcome.response.body as { id?: unknown } | undefined;
  deps.executions.record({
    scope,
    key,
    path: req.path,
    status: outcome.response.status,
    objectId: outcome.response.status === 200 && typeof made?.id === "string" ? made.id : null,
  });
  return outcome.response;
}

async function runRoute(
  deps: HandlerDeps,
  route: Route,
  input: {
    account: AccountRef;
    params: FormObject;
    ids: string[];
    requestId: string;
    key: string | null;
  },
): Promise<{ response: FakeResponse; saved: boolean }> {
  if (route.method === "POST") {
    const delay = deps.processingDelayMs();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  }
  try {
    const body = route.run({
      account: input.account,
      params: input.params,
      ids: input.ids,
      emit: (type, object, account) =>
        deps.emit(type, object, account, { id: input.requestId, idempotencyKey: input.key }),
    });
    return { response: { status: 200, body }, saved: true };
  } catch (error) {
    if (!(error instanceof StripeApiError)) throw error;
    return { response: error.response(), saved: error.saved };
  }
}

/**
 * What the key keeps: the response, unless it was a validation failure; but
 * when an afterCommit fault with a 5xx replaces the answer, the 5xx is what the
 * client saw and what Stripe replays for that key.
 */
function toSave(
  outcome: { response: FakeResponse; saved: boolean },
  ctx: HandlerContext,
  requestId: string,
): SavedResponse | null {
  const fault = ctx.fault;
  if (fault?.kind === "status" && fault.status >= 500) {
    return {
      status: fault.status,
      body: fault.body ?? defaultErrorBody(fault.status),
      headers: fault.headers ?? {},
      requestId,
    };
  }
  if (!outcome.saved) return null;
  return {
    status: outcome.response.status,
    body: outcome.response.body,
    headers: outcome.response.headers ?? {},
    requestId,
  };
}

function matchRoute(routes: Route[], req: FakeRequest): { route: Route; ids: string[] } | null {
  for (const route of routes) {
    if (route.method !== req.method) continue;
    const m = route.path.exec(req.path);
    if (m) return { route, ids: m.slice(1).map((id) => decodeURIComponent(id)) };
  }
  return null;
}

function header(req: FakeRequest, name: string): string | null {
  const value = req.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}
