/**
 * The three kinds of PSP failure (SPEC §1.2), never confused:
 *   retryable  nothing was done (connection refused, 429 incl. lock_timeout, 409
 *              idempotency_key_in_use, Hyperswitch HE_00/422): retry with the same key
 *   unknown    the request may have executed (timeout after send, 5xx, connection
 *              dropped mid-response): look the object up first, adopt it if found
 *   permanent  a decline or an invalid request: the row takes its failure status,
 *              with the PSP's code and message
 */
export type PspFailureKind = "retryable" | "unknown" | "permanent";
export type PspProvider = "hyperswitch" | "stripe";

export interface PspErrorDetails {
  provider: PspProvider;
  kind: PspFailureKind;
  /** The PSP's own error code (HE_01, IR_13, resource_missing, …); null for transport failures. */
  code: string | null;
  message: string;
  /** HTTP status, or null when no response arrived. */
  httpStatus: number | null;
  /** The PSP's request id (x-request-id / request-id), for support tickets. */
  requestId: string | null;
  cause?: unknown;
}

export class PspError extends Error implements PspErrorDetails {
  override name = "PspError";
  readonly provider: PspProvider;
  readonly kind: PspFailureKind;
  readonly code: string | null;
  readonly httpStatus: number | null;
  readonly requestId: string | null;

  constructor(details: PspErrorDetails) {
    super(details.message, { cause: details.cause });
    this.provider = details.provider;
    this.kind = details.kind;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
  }

  /** One line for `last_error` columns and logs: kind, code, status, message, request id. */
  summary(): string {
    const parts = [
      `${this.provider} ${this.kind}`,
      this.code,
      this.httpStatus === null ? "no response" : `HTTP ${this.httpStatus}`,
    ].filter(Boolean);
    return `${parts.join(" ")}: ${this.message}${this.requestId ? ` (request ${this.requestId})` : ""}`;
  }
}

/**
 * Idempotency keys are explicit parameters of every PSP call. A missing or blank key
 * must fail before any I/O, never as a silently omitted header or field.
 */
export function requireKey(key: unknown, what: string): string {
  if (typeof key !== "string" || key.trim() === "") {
    throw new TypeError(`${what}: an idempotency key is required (got ${JSON.stringify(key)})`);
  }
  return key;
}
