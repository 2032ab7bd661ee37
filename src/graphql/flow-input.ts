/**
 * From what GraphQL hands a mutation to the arguments of a flow. GraphQL has
 * checked the shapes and the UUIDs already; two things are left that it cannot
 * do: the `BigInt` scalar accepts any string (money must reach the flows as an
 * integer bigint, never a float), and the caller comes from the request context.
 * Business validation (blank reasons, non-positive amounts, foreign items) stays
 * in the SQL functions, which word it precisely.
 */
import { SafeError } from "postgraphile/grafast";
import type { Caller, RefundRequest } from "../flows/index.ts";

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** A value of the `BigInt` scalar as minor units; `field` names it in the error. */
export function minorUnits(field: string, value: unknown): bigint {
  const text = typeof value === "string" ? value.trim() : "";
  // Signed, so that a negative amount reaches SQL and gets its own VALIDATION message.
  const amount = /^-?\d{1,20}$/.test(text) ? BigInt(text) : null;
  if (amount === null || amount < INT8_MIN || amount > INT8_MAX) {
    throw new SafeError(
      `${field}: must be an integer number of minor units, got ${JSON.stringify(value)}`,
      { code: "VALIDATION" },
    );
  }
  return amount;
}

/** The request's pgSettings (set for every request by the preset's context callback). */
export function callerOf(
  pgSettings: Record<string, string | undefined> | null | undefined,
): Caller {
  if (!pgSettings) {
    // Not the client's doing: the context callback always sets them. Masked as INTERNAL.
    throw new Error("flow mutation without pgSettings in the GraphQL context");
  }
  return Object.fromEntries(
    Object.entries(pgSettings).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** The coerced `RefundOrderInput`. */
export interface RefundOrderInput {
  orderId: string;
  amount?: string | null;
  reason?: string | null;
  items?: ReadonlyArray<{ orderItemId: string; amount: string }> | null;
}

export function refundRequestOf(input: RefundOrderInput): RefundRequest {
  return {
    orderId: input.orderId,
    amount: input.amount == null ? null : minorUnits("amount", input.amount),
    reason: input.reason ?? null,
    items:
      input.items?.map((item, index) => ({
        orderItemId: item.orderItemId,
        amount: minorUnits(`items[${index}].amount`, item.amount),
      })) ?? null,
  };
}
