/**
 * The API steps that need no PSP call: cancelling an order that was not paid, and
 * an admin's retry of a transfer or reversal that gave up (back to pending with
 * the same key; the row's trigger enqueues its job; the reason is audited).
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { asCaller, type Caller } from "./caller.ts";

const Id = z.object({ id: z.string() });

export async function cancelOrder(
  db: DatabasePool,
  caller: Caller,
  orderId: string,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`select id from settle_api.cancel_order(${orderId})`),
  );
}

export async function retryTransfer(
  db: DatabasePool,
  caller: Caller,
  transferId: string,
  reason: string,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`select id from settle_api.retry_transfer(${transferId}, ${reason})`),
  );
}

export async function retryReversal(
  db: DatabasePool,
  caller: Caller,
  reversalId: string,
  reason: string,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`select id from settle_api.retry_reversal(${reversalId}, ${reason})`),
  );
}
