/**
 * The fake's API surface: the v1 routes we use, in the router's order of
 * concerns: route → method → body deserialization (actix extracts the JSON body
 * before the handler runs) → `api-key` authentication → business rules. Every
 * answer carries an `x-request-id`.
 */
import { randomUUID } from "node:crypto";
import type { FakeHandler, FakeRequest } from "../../fake/server.ts";
import { HsError, hsErrors } from "./errors.ts";
import {
  listPayments,
  listRefunds,
  parsePaymentListQuery,
  parseRefundListRequest,
} from "./lists.ts";
import { cancelPayment, createPayment } from "./payments.ts";
import { createRefund } from "./refunds.ts";
import {
  deserialize,
  PaymentsCancelRequestSchema,
  PaymentsRequestSchema,
  RefundRequestSchema,
} from "./requests.ts";
import { type FakeState, snapshot } from "./state.ts";

export interface RouteDeps {
  state: FakeState;
  apiKey: string;
  /** The fake's own URL, for 3DS redirect links. */
  baseUrl: () => string;
  /** Called with each refund just created, to apply the settlement policy. */
  refundCreated: (refundId: string) => void;
}

type Route = { collection: "payments" | "refunds"; id: string | null; action: "cancel" | null };

export function createHandler(deps: RouteDeps): FakeHandler {
  return async (req) => {
    const requestId = randomUUID();
    try {
      const body = dispatch(deps, req);
      return { status: 200, headers: { "x-request-id": requestId }, body };
    } catch (error) {
      if (error instanceof HsError) return error.toResponse(requestId);
      throw error;
    }
  };
}

function dispatch(deps: RouteDeps, req: FakeRequest): unknown {
  const route = parseRoute(req.path);
  if (!route) throw hsErrors.unrecognizedUrl();
  const { state } = deps;

  // The router registers `/list` before `/{id}`, so "list" never names an object.
  if (route.id === "list") return list(deps, req, route.collection);

  if (route.id === null) {
    // Only creates are modelled on the bare collections.
    if (req.method !== "POST") throw hsErrors.wrongMethod();
    if (route.collection === "payments") {
      const body = deserialize(req.rawBody, PaymentsRequestSchema);
      authenticate(deps, req);
      return snapshot(createPayment(state, body, deps.baseUrl()));
    }
    const body = deserialize(req.rawBody, RefundRequestSchema);
    authenticate(deps, req);
    const refund = createRefund(state, body);
    deps.refundCreated(refund.refund_id);
    // Read back: an immediate settlement has already moved it.
    return snapshot(state.refunds.get(refund.refund_id));
  }

  if (route.action === "cancel") {
    if (req.method !== "POST") throw hsErrors.wrongMethod();
    const body = deserialize(req.rawBody, PaymentsCancelRequestSchema);
    authenticate(deps, req);
    return snapshot(cancelPayment(state, route.id, body));
  }

  // POST /payments/{id} (update) and the like are not modelled by the fake.
  if (req.method !== "GET") throw hsErrors.wrongMethod();
  authenticate(deps, req);
  if (route.collection === "payments") {
    const payment = state.payments.get(route.id);
    if (!payment) throw hsErrors.paymentNotFound();
    return snapshot(payment);
  }
  const refund = state.refunds.get(route.id);
  if (!refund) throw hsErrors.refundNotFound();
  return snapshot(refund);
}

/** GET /payments/list and POST /refunds/list (./lists.ts); parsing comes before authentication. */
function list(deps: RouteDeps, req: FakeRequest, collection: Route["collection"]): unknown {
  if (collection === "payments") {
    // POST /payments/list is the dashboard's filter variant (JWT only): not modelled.
    if (req.method !== "GET") throw hsErrors.wrongMethod();
    const query = parsePaymentListQuery(req.query);
    authenticate(deps, req);
    return structuredClone(listPayments(deps.state, query));
  }
  if (req.method !== "POST") {
    // GET /refunds/list reaches GET /refunds/{id} with the id "list", which no refund has.
    if (req.method !== "GET") throw hsErrors.wrongMethod();
    authenticate(deps, req);
    throw hsErrors.refundNotFound();
  }
  const body = parseRefundListRequest(req.rawBody);
  authenticate(deps, req);
  return structuredClone(listRefunds(deps.state, body));
}

function parseRoute(path: string): Route | null {
  const match = /^\/(payments|refunds)(?:\/([^/]+)(?:\/(cancel))?)?\/?$/.exec(path);
  if (!match) return null;
  // Only payments have a cancel: /refunds/{id}/cancel is no route.
  if (match[3] && match[1] !== "payments") return null;
  try {
    return {
      collection: match[1] as Route["collection"],
      id: match[2] === undefined ? null : decodeURIComponent(match[2]),
      action: match[3] ? "cancel" : null,
    };
  } catch {
    return null; // a malformed %-escape names no resource
  }
}

function authenticate(deps: RouteDeps, req: FakeRequest): void {
  if (req.headers["api-key"] !== deps.apiKey) throw hsErrors.unauthorized();
}
