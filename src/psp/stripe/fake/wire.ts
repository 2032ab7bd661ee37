/**
 * Stripe's wire conventions that every endpoint of the fake shares: object ids
 * with their type prefix, request ids, and the error body
 * `{error: {type, code, param, message}}` that stripe-node turns into its error
 * classes (it throws only when the JSON has a top-level `error`, whatever the
 * status, so the body matters as much as the status).
 */
import { randomBytes } from "node:crypto";
import type { FakeResponse } from "../../fake/server.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomText(length: number): string {
  const bytes = randomBytes(length);
  let text = "";
  for (const byte of bytes) text += ALPHABET[byte % ALPHABET.length];
  return text;
}

/** `tr_1…`, `trr_1…`, `po_1…`, `evt_1…`: Stripe ids are a prefix and 24 characters. */
export function newId(prefix: string): string {
  return `${prefix}_1${randomText(23)}`;
}

export function newRequestId(): string {
  return `req_${randomText(14)}`;
}

export type StripeErrorType =
  | "api_error"
  | "card_error"
  | "idempotency_error"
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error";

export interface StripeErrorFields {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
}

export interface StripeErrorBody {
  error: StripeErrorFields & { doc_url?: string; request_log_url?: string };
}

export function errorBody(fields: StripeErrorFields): StripeErrorBody {
  return {
    error: {
      ...fields,
      ...(fields.code ? { doc_url: `https://docs.stripe.com/error-codes/${fields.code}` } : {}),
    },
  };
}

/**
 * An API error raised inside the fake. `saved` says whether the idempotency
 * layer keeps it as the key's result: Stripe saves results "only after the
 * execution of an endpoint begins", so a request whose parameters fail
 * validation saves nothing and may be retried with the same key and fixed
 * parameters; an outcome of execution (no such transfer, already reversed,
 * balance too low) is saved and replayed like a success.
 */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly fields: StripeErrorFields,
    readonly saved: boolean,
  ) {
    super(fields.message);
  }

  response(): FakeResponse {
    return { status: this.status, body: errorBody(this.fields) };
  }
}

/** Malformed parameters: 400, nothing saved under the idempotency key. */
export function invalidParam(param: string, message: string, code?: string): StripeApiError {
  return new StripeApiError(
    400,
    { type: "invalid_request_error", message, param, ...(code ? { code } : {}) },
    false,
  );
}

/** An object that does not exist: 404 `resource_missing`, like `No such transfer: 'tr_…'`. */
export function noSuch(what: string, id: string, param = "id"): StripeApiError {
  return new StripeApiError(
    404,
    {
      type: "invalid_request_error",
      code: "resource_missing",
      param,
      message: `No such ${what}: '${id}'`,
    },
    true,
  );
}

/**
 * The body of an injected `status` fault that names none: what Stripe sends for
 * that status, so a fault exercises the client's real error mapping.
 */
export function defaultErrorBody(status: number): StripeErrorBody {
  if (status === 429) {
    return errorBody({
      type: "invalid_request_error",
      code: "rate_limit",
      message:
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
    });
  }
  if (status === 409) {
    return errorBody({
      type: "invalid_request_error",
      code: "idempotency_key_in_use",
      message:
        "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through). Please try again later.",
    });
  }
  if (status === 401) {
    return errorBody({ type: "authentication_error", message: "Invalid API Key provided." });
  }
  if (status === 402) {
    return errorBody({
      type: "card_error",
      code: "card_declined",
      message: "Your card was declined.",
    });
  }
  if (status === 403) {
    return errorBody({
      type: "permission_error",
      message: "The provided key does not have the required permissions for this endpoint.",
    });
  }
  if (status >= 500) {
    return errorBody({
      type: "api_error",
      message:
        "An unknown error occurred with our API. We have been notified and are looking into it.",
    });
  }
  return errorBody({
    type: "invalid_request_error",
    message: `Request failed with status ${status}.`,
  });
}
