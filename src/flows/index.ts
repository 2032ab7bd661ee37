/**
 * The API flows with their dependencies bound: what the GraphQL mutations call.
 * Each takes the request's caller (PostGraphile's pgSettings) first.
 */
import type { DatabasePool } from "../db/slonik.ts";
import type { Logger } from "../log.ts";
import type { HyperswitchClient } from "../psp/hyperswitch/client.ts";
import type { Caller } from "./caller.ts";
import { confirmOrder } from "./confirm-order.ts";
import { cancelOrder, retryReversal, retryTransfer } from "./order-admin.ts";
import { createPayout, type PayoutRequest, settleSellerDebt } from "./payouts.ts";
import { type RefundRequest, refundOrder } from "./refund-order.ts";
import {
  cancelSubscription,
  createSubscription,
  type SubscriptionRequest,
} from "./subscriptions.ts";

export type { Caller } from "./caller.ts";
export type { PayoutRequest } from "./payouts.ts";
export type { RefundRequest } from "./refund-order.ts";
export type { SubscriptionRequest } from "./subscriptions.ts";

export interface Flows {
  /** → the order id, and the client secret the buyer's checkout needs. */
  confirmOrder(
    caller: Caller,
    orderId: string,
  ): Promise<{ orderId: string; clientSecret: string | null }>;
  /** → the order id. */
  cancelOrder(caller: Caller, orderId: string): Promise<string>;
  /** → the refund id. */
  refundOrder(caller: Caller, request: RefundRequest): Promise<string>;
  /** → the transfer id. */
  retryTransfer(caller: Caller, transferId: string, reason: string): Promise<string>;
  /** → the reversal id. */
  retryReversal(caller: Caller, reversalId: string, reason: string): Promise<string>;
  /** → the payout id (pending; its job sends it to Stripe). */
  createPayout(caller: Caller, request: PayoutRequest): Promise<string>;
  /** → the debt id. */
  settleSellerDebt(caller: Caller, debtId: string, reason: string): Promise<string>;
  /** → the subscription id (incomplete; its first invoice is charged by a job). */
  createSubscription(caller: Caller, request: SubscriptionRequest): Promise<string>;
  /** → the subscription id. */
  cancelSubscription(caller: Caller, subscriptionId: string): Promise<string>;
}

export function makeFlows(deps: {
  db: DatabasePool;
  hyperswitch: HyperswitchClient;
  logger: Logger;
}): Flows {
  const logger = deps.logger.child({ component: "flows" });
  return {
    confirmOrder: (caller, orderId) => confirmOrder({ ...deps, logger }, caller, orderId),
    cancelOrder: (caller, orderId) => cancelOrder(deps.db, caller, orderId),
    refundOrder: (caller, request) => refundOrder({ ...deps, logger }, caller, request),
    retryTransfer: (caller, id, reason) => retryTransfer(deps.db, caller, id, reason),
    retryReversal: (caller, id, reason) => retryReversal(deps.db, caller, id, reason),
    createPayout: (caller, request) => createPayout(deps.db, caller, request),
    settleSellerDebt: (caller, id, reason) => settleSellerDebt(deps.db, caller, id, reason),
    createSubscription: (caller, request) => createSubscription(deps.db, caller, request),
    cancelSubscription: (caller, id) => cancelSubscription(deps.db, caller, id),
  };
}
