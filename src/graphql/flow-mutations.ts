/**
 * The mutations that run a flow (SPEC §5, §6): confirmOrder, cancelOrder,
 * refundOrder, retryTransfer, retryReversal. They cannot be plain Postgres
 * functions because confirm and refund call a PSP between committed steps, so
 * each runs its flow in a `sideEffect` as the request's caller (pgSettings), and
 * the payload's row is read AFTER the flow, through the table's resource
 * (./mutation-steps.ts): the client gets the real `Order`/`Refund`/… type, as the
 * caller's row-level security lets it see that row now.
 *
 * Errors need nothing here: the flows throw SafeErrors (PSP_DECLINED,
 * PSP_UNAVAILABLE) or Postgres errors with our SQLSTATEs, and ./errors.ts maps
 * both to stable codes at the boundary.
 */
import "postgraphile";
import { get, ObjectStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Flows } from "../flows/index.ts";
import { type RefundOrderInput, refundRequestOf } from "./flow-input.ts";
import { idPayload, payload, rowOf, runFlow, tablesOf } from "./mutation-steps.ts";

const typeDefs = gql`
  input ConfirmOrderInput {
    clientMutationId: String
    orderId: UUID!
  }
  type ConfirmOrderPayload {
    clientMutationId: String
    "The order, payment_pending (or paid already, if the PSP's webhook came first)."
    order: Order
    "For the buyer's checkout with the PSP."
    clientSecret: String
  }

  input CancelOrderInput {
    clientMutationId: String
    orderId: UUID!
  }
  type CancelOrderPayload {
    clientMutationId: String
    order: Order
  }

  "Part of a refund taken from one item of the order."
  input RefundOrderItemInput {
    orderItemId: UUID!
    "Minor units."
    amount: BigInt!
  }
  input RefundOrderInput {
    clientMutationId: String
    orderId: UUID!
    "Minor units; with neither amount nor items, all that is left to refund."
    amount: BigInt
    reason: String
    items: [RefundOrderItemInput!]
  }
  type RefundOrderPayload {
    clientMutationId: String
    """
    processing once the PSP has it (or settled, if its webhook came first); pending
    if the PSP could not be reached, for the refunds__send job to send.
    """
    refund: Refund
  }

  input RetryTransferInput {
    clientMutationId: String
    transferId: UUID!
    "Kept in the audit trail (settle.state_transitions)."
    reason: String!
  }
  type RetryTransferPayload {
    clientMutationId: String
    transfer: SellerTransfer
  }

  input RetryReversalInput {
    clientMutationId: String
    reversalId: UUID!
    "Kept in the audit trail (settle.state_transitions)."
    reason: String!
  }
  type RetryReversalPayload {
    clientMutationId: String
    reversal: TransferReversal
  }

  extend type Mutation {
    "Starts the payment of a pending order with the PSP (the order's buyer, the platform, an admin)."
    confirmOrder(input: ConfirmOrderInput!): ConfirmOrderPayload
    "Cancels an order that was not paid (the order's buyer, the platform, an admin)."
    cancelOrder(input: CancelOrderInput!): CancelOrderPayload
    "Refunds a paid order in full, by amount, or by items (the platform, an admin)."
    refundOrder(input: RefundOrderInput!): RefundOrderPayload
    "Sends a permanently failed seller transfer again, with the same key (an admin)."
    retryTransfer(input: RetryTransferInput!): RetryTransferPayload
    "Sends a permanently failed transfer reversal again, with the same key (an admin)."
    retryReversal(input: RetryReversalInput!): RetryReversalPayload
  }
`;

export function makeFlowMutationsPlugin(flows: Flows): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const table = tablesOf(build, "flow mutations");
    const orders = table("orders");
    const refunds = table("refunds");
    const transfers = table("seller_transfers");
    const reversals = table("transfer_reversals");

    return {
      typeDefs,
      objects: {
        Mutation: {
          plans: {
            confirmOrder(_, fieldArgs) {
              const $confirmed = runFlow(fieldArgs, (caller, input: { orderId: string }) =>
                flows.confirmOrder(caller, input.orderId),
              );
              return payload(fieldArgs, {
                id: get($confirmed, "orderId"),
                clientSecret: get($confirmed, "clientSecret"),
              });
            },
            cancelOrder: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: { orderId: string }) =>
                flows.cancelOrder(caller, input.orderId),
              ),
            refundOrder: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: RefundOrderInput) =>
                flows.refundOrder(caller, refundRequestOf(input)),
              ),
            retryTransfer: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: { transferId: string; reason: string }) =>
                flows.retryTransfer(caller, input.transferId, input.reason),
              ),
            retryReversal: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: { reversalId: string; reason: string }) =>
                flows.retryReversal(caller, input.reversalId, input.reason),
              ),
          },
        },
        // clientMutationId and clientSecret use the default plan: get() by field name.
        ConfirmOrderPayload: { assertStep: ObjectStep, plans: { order: rowOf(orders) } },
        CancelOrderPayload: { assertStep: ObjectStep, plans: { order: rowOf(orders) } },
        RefundOrderPayload: { assertStep: ObjectStep, plans: { refund: rowOf(refunds) } },
        RetryTransferPayload: { assertStep: ObjectStep, plans: { transfer: rowOf(transfers) } },
        RetryReversalPayload: { assertStep: ObjectStep, plans: { reversal: rowOf(reversals) } },
      },
    };
  }, "SettleFlowMutationsPlugin");
}
