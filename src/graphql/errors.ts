/**
 * The GraphQL error boundary. Postgres is the guard, so most business errors are
 * SQLSTATEs: our own five-letter codes (raised by Settle's rules, message written
 * for the caller) and a few standard ones. An allowlist maps them to stable
 * `extensions.code` values; anything else is an internal error whose text may
 * name tables, SQL or stack frames, so the caller gets an error id and the log
 * gets the details.
 */
import { randomUUID } from "node:crypto";
import { isSafeError } from "postgraphile/grafast";
import { defaultMaskError } from "postgraphile/grafserv";
import { GraphQLError, type GraphQLFormattedError } from "postgraphile/graphql";
import type { Logger } from "../log.ts";

/** Raised by Settle's own rules (sql/committed): the message is meant for the caller. */
const OWN_CODES: Readonly<Record<string, string>> = {
  ILTRN: "ILLEGAL_TRANSITION",
  INITS: "ILLEGAL_TRANSITION",
  IMMUT: "IMMUTABLE",
  TOTAL: "ORDER_TOTAL_MISMATCH",
  RFEXC: "REFUND_EXCEEDS_PAID",
  INFLT: "REFUND_IN_FLIGHT",
  TREXC: "TRANSFER_EXCEEDS_SHARE",
  RVEXC: "REVERSAL_EXCEEDS_TRANSFER",
  RVREF: "REVERSAL_EXCEEDS_REFUNDS",
  BALEX: "PAYOUT_EXCEEDS_AVAILABLE",
  BALHD: "SELLER_FUNDS_HELD",
  SUBGT: "SUBSCRIPTION_UNPAID",
  SUBEX: "SUBSCRIPTION_EXISTS",
  VALID: "VALIDATION",
};

/** Standard SQLSTATEs: Postgres wrote these messages, so we write our own. */
const STANDARD_CODES: Readonly<Record<string, { code: string; message: (e: PgError) => string }>> =
  {
    "42501": {
      code: "FORBIDDEN",
      // A RAISE in one of our functions explains itself; the server's own
      // "permission denied for table ..." does not need to reach the caller.
      message: (e) => (raisedByUs(e) ? e.message : "Not allowed for this caller"),
    },
    "23505": {
      code: "CONFLICT",
      message: (e) => `Already exists${constraintSuffix(e)}`,
    },
    "23514": {
      code: "VALIDATION",
      message: (e) => `Invalid value${constraintSuffix(e)}`,
    },
    "23503": {
      code: "VALIDATION",
      message: (e) =>
        `Refers to a row that does not exist or is still referenced${constraintSuffix(e)}`,
    },
    "23502": {
      code: "VALIDATION",
      message: (e) => (e.column ? `${e.column} is required` : "A required value is missing"),
    },
    "22P02": {
      code: "VALIDATION",
      message: () => "Invalid input syntax for a value (e.g. a malformed uuid or number)",
    },
  };

/** The fields of node-postgres' DatabaseError that we read. */
interface PgError {
  code: string;
  message: string;
  hint?: string;
  where?: string;
  constraint?: string;
  column?: string;
}

function isPgError(value: unknown): value is PgError {
  const candidate = value as Partial<PgError> & { severity?: unknown };
  return (
    value instanceof Error &&
    typeof candidate.code === "string" &&
    /^[0-9A-Z]{5}$/.test(candidate.code) &&
    candidate.severity !== undefined
  );
}

/** Grafast may wrap the driver's error; look a few levels down. */
function findPgError(error: unknown): PgError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (isPgError(current)) return current;
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  return null;
}

function raisedByUs(error: PgError): boolean {
  return /\bat RAISE\b/.test(error.where ?? "");
}

function constraintSuffix(error: PgError): string {
  return error.constraint ? ` (constraint ${error.constraint})` : "";
}

export type MaskError = (error: GraphQLError) => GraphQLError | GraphQLFormattedError;

export function makeMaskError(logger: Logger): MaskError {
  const log = logger.child({ component: "graphql" });
  return (error) => {
    const location = {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
    };
    const pgError = error.originalError ? findPgError(error.originalError) : null;
    if (pgError) {
      const own = OWN_CODES[pgError.code];
      if (own) {
        return new GraphQLError(pgError.message, {
          ...location,
          extensions: { code: own, ...(pgError.hint ? { hint: pgError.hint } : {}) },
        });
      }
      const standard = STANDARD_CODES[pgError.code];
      if (standard) {
        return new GraphQLError(standard.message(pgError), {
          ...location,
          extensions: {
            code: standard.code,
            ...(pgError.constraint ? { constraint: pgError.constraint } : {}),
          },
        });
      }
    } else if (
      !error.originalError ||
      error.originalError instanceof GraphQLError ||
      isSafeError(error.originalError)
    ) {
      // Parse/validation errors and errors our own code marked as safe to show.
      return defaultMaskError(error);
    }
    const errorId = randomUUID();
    log.error(
      { errorId, path: error.path, err: error.originalError ?? error },
      "masked GraphQL error",
    );
    return new GraphQLError(`Internal error (id ${errorId})`, {
      ...location,
      extensions: { code: "INTERNAL", errorId },
    });
  };
}
