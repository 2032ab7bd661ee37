/**
 * createSubscription and cancelSubscription (SPEC §5): no PSP call here. The
 * subscription and its first invoice are inserted together; the invoice's row
 * trigger enqueues the job that charges it (subscription_invoices__charge), so the
 * charge survives a crash of the API and is retried like every other PSP call.
 * Who may act and what is valid is decided by settle_api's SQL functions.
 */
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { asCaller, type Caller } from "./caller.ts";

const Id = z.object({ id: z.string() });

export interface SubscriptionRequest {
  buyerId: string;
  planId: string;
}

/** → the subscription id (incomplete until its first invoice is paid). */
export async function createSubscription(
  db: DatabasePool,
  caller: Caller,
  request: SubscriptionRequest,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`
      select id from settle_api.create_subscription(${request.buyerId}, ${request.planId})`),
  );
}

/** → the subscription id (canceled, or incomplete_expired if it never started). */
export async function cancelSubscription(
  db: DatabasePool,
  caller: Caller,
  subscriptionId: string,
): Promise<string> {
  return asCaller(db, caller, (tx) =>
    tx.oneFirst(sql.type(Id)`select id from settle_api.cancel_subscription(${subscriptionId})`),
  );
}
