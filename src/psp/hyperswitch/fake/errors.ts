/**
 * Hyperswitch's error answers as the router sends them (psp-facts A1;
 * `api_error_response.rs`): `{"error":{"type","message","code",…extra}}`, `type`
 * being `invalid_request` for every 4xx and `api` for a 500. The JSON parser's
 * errors are the exception: they name the key `error_type` (IR_06, always 400).
 */
import type { FakeResponse } from "../../fake/server.ts";

export class HsError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  /** Raised by the JSON body parser, whose answers use `error_type`. */
  readonly fromParser: boolean;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
    fromParser = false,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.fromParser = fromParser;
  }

  toResponse(requestId: string): FakeResponse {
    return {
      status: this.status,
      headers: { "x-request-id": requestId },
      body: {
        error: errorObject(this.status, this.code, this.message, this.extra, this.fromParser),
      },
    };
  }
}

function errorObject(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown>,
  fromParser: boolean,
): Record<string, unknown> {
  const type = status >= 500 ? "api" : "invalid_request";
  return fromParser ? { error_type: type, message, code } : { type, message, code, ...extra };
}

export const hsErrors = {
  unauthorized: () => new HsError(401, "IR_01", "API key not provided or invalid API key used"),
  unrecognizedUrl: () => new HsError(404, "IR_02", "Unrecognized request URL"),
  wrongMethod: () => new HsError(405, "IR_03", "The HTTP method is not applicable for this API"),
  missingParam: (field: string) => new HsError(400, "IR_04", `Missing required param: ${field}`),
  invalidFormat: (field: string, expected: string) =>
    new HsError(422, "IR_05", `${field} contains invalid data. Expected format is ${expected}`),
  deserialize: (detail: string) =>
    new HsError(400, "IR_06", `Json deserialize error: ${detail}`, {}, true),
  maxRefundAttempts: () => new HsError(400, "IR_12", "Reached maximum refund attempts"),
  refundExceedsCaptured: () =>
    new HsError(400, "IR_13", "The refund amount exceeds the amount captured"),
  refundWrongPaymentStatus: (status: string) =>
    new HsError(
      400,
      "IR_14",
      `This Payment could not be refund because it has a status of ${status}. The expected state is succeeded, partially_captured`,
    ),
  duplicatePayment: (paymentId: string) =>
    new HsError(
      400,
      "HE_01",
      "The payment with the specified payment_id already exists in our records",
      {
        reason: `PaymentId(${paymentId}) already exists`,
      },
    ),
  duplicateRefund: () =>
    new HsError(
      400,
      "HE_01",
      "Duplicate refund request. Refund already attempted with the refund ID",
    ),
  /** PreconditionFailed, e.g. from validate_payment_status_against_not_allowed_statuses. */
  preconditionFailed: (message: string) => new HsError(400, "IR_16", message),
  paymentNotFound: () => new HsError(404, "HE_02", "Payment does not exist in our records"),
  refundNotFound: () => new HsError(404, "HE_02", "Refund does not exist in our records."),
};

/**
 * The body of an injected `status` fault that names none: what Hyperswitch itself
 * would say with that status. 422 is ResourceBusy (the API lock), whose message is
 * a copy-paste bug in the router, kept here as it is.
 */
export function defaultErrorBody(status: number): unknown {
  const [code, message] =
    status === 422
      ? ["HE_00", "There was an issue processing the webhook body"]
      : status === 401
        ? ["IR_01", "API key not provided or invalid API key used"]
        : status === 404
          ? ["IR_02", "Unrecognized request URL"]
          : status >= 500
            ? ["HE_00", "Something went wrong"]
            : ["IR_06", `Request failed with HTTP ${status}`];
  return { error: errorObject(status, code, message, {}, false) };
}
