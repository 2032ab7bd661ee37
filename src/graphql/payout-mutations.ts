/**
 * The payout mutations (SPEC §6), admin only: createPayout and settleSellerDebt.
 * Planned as every flow mutation is (./mutation-steps.ts): the flow runs as the
 * request's caller, the payload's row is read after it under the caller's RLS. Refusals are Postgres errors with our SQLSTATEs
 * (BALEX, BALHD, VALID, 42501…), mapped to stable codes by ./errors.ts.
 */
import "postgraphile";
import { ObjectStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Caller } from "../flows/index.ts";
import type { PayoutRequest } from "../flows/payouts.ts";
import { minorUnits } from "./flow-input.ts";
import { idPayload, rowOf, tablesOf } from "./mutation-steps.ts";

/** What the plugin needs of the flows (a part of the `Flows` object). */
export interface PayoutFlows {
  createPayout(caller: Caller, request: PayoutRequest): Promise<string>;
  settleSellerDebt(caller: Caller, debtId: string, reason: string): Promise<string>;
}

const typeDefs = gql`
  input CreatePayoutInput {
    clientMutationId: String
    sellerId: UUID!
    "Minor units; without it, all the seller has available."
    amount: BigInt
    "ISO 4217; without it, the seller's only currency."
    currency: String
  }
  type CreatePayoutPayload {
    clientMutationId: String
    "The payout, pending: its job sends it to Stripe; payout.* webhooks move it on."
    payout: SellerPayout
  }

  input SettleSellerDebtInput {
    clientMutationId: String
    debtId: UUID!
    "Kept on the debt and in the audit trail (settle.state_transitions)."
    reason: String!
  }
  type SettleSellerDebtPayload {
    clientMutationId: String
    debt: SellerDebt
  }

  extend type Mutation {
    "Pays a seller out from its available balance, open debts netted first (an admin)."
    createPayout(input: CreatePayoutInput!): CreatePayoutPayload
    "Settles an open seller debt outside Settle, with a reason (an admin)."
    settleSellerDebt(input: SettleSellerDebtInput!): SettleSellerDebtPayload
  }
`;

interface CreatePayoutInput {
  sellerId: string;
  amount?: string | null;
  currency?: string | null;
}

export function makePayoutMutationsPlugin(flows: PayoutFlows): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const table = tablesOf(build, "payout mutations");
    const payouts = table("seller_payouts");
    const debts = table("seller_debts");
    return {
      typeDefs,
      objects: {
        Mutation: {
          plans: {
            createPayout(_, fieldArgs) {
              return idPayload(fieldArgs, (caller, input: CreatePayoutInput) =>
                flows.createPayout(caller, {
                  sellerId: input.sellerId,
                  amount: input.amount == null ? null : minorUnits("amount", input.amount),
                  currency: input.currency ?? null,
                }),
              );
            },
            settleSellerDebt(_, fieldArgs) {
              return idPayload(fieldArgs, (caller, input: { debtId: string; reason: string }) =>
                flows.settleSellerDebt(caller, input.debtId, input.reason),
              );
            },
          },
        },
        CreatePayoutPayload: { assertStep: ObjectStep, plans: { payout: rowOf(payouts) } },
        SettleSellerDebtPayload: { assertStep: ObjectStep, plans: { debt: rowOf(debts) } },
      },
    };
  }, "SettlePayoutMutationsPlugin");
}
