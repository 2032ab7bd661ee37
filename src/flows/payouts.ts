/**
 * The payout steps of the API (SPEC §5, §6), admin only: createPayout inserts the
 * payout row behind the balance rules (its trigger enqueues the Stripe job, so
 * the row is committed before the call); settleSellerDebt closes a debt with a
 * reason. Both are settle_api functions that check the caller themselves.
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { asCaller, type Caller } from "./caller.ts";

const Id = z.object({ id: z.string() });

export interface PayoutRequest {
  sellerId: string;
  /** Minor units; null = all the seller has available. */
  amount: bigint | null;
  /** ISO 4217; null = the seller's only currency. */
  currency: string | null;
}

/** → the payout id. */
export async function createPayout(
  db: DatabasePool,
  caller: Caller,
  request: PayoutRequest,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`
      select id from settle_api.create_payout(${request.sellerId}, ${request.amount}, ${request.currency})`),
  );
}

/** → the debt id. */
export async function settleSellerDebt(
  db: DatabasePool,
  caller: Caller,
  debtId: string,
  reason: string,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`select id from settle_api.settle_seller_debt(${debtId}, ${reason})`),
  );
}
