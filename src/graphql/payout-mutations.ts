/**
 * The payout mutations (SPEC §6), admin only: createPayout and settleSellerDebt.
 * Same pattern as flow-mutations.ts: the flow runs as the request's caller in a
 * `sideEffect`, the payload's row is read after it through the table's resource
 * (under the caller's RLS). Refusals are Postgres errors with our SQLSTATEs
 * (BALEX, BALHD, VALID, 42501…), mapped to stable codes by ./errors.ts.
 */
import "postgraphile";
import { context, type FieldArgs, ObjectStep, object, sideEffect } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Caller } from "../flows/index.ts";
import type { PayoutRequest } from "../flows/payouts.ts";
import { callerOf, minorUnits } from "./flow-input.ts";

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

type Table = GraphileBuild.Build["input"]["pgRegistry"]["pgResources"][string];

function runFlow<TInput>(
  fieldArgs: FieldArgs,
  flow: (caller: Caller, input: TInput) => Promise<string>,
) {
  const $input = fieldArgs.getRaw("input");
  const $id = sideEffect([$input, context().get("pgSettings")], ([input, pgSettings]) =>
    flow(callerOf(pgSettings), input as TInput),
  );
  return object({ id: $id, clientMutationId: fieldArgs.getRaw(["input", "clientMutationId"]) });
}

export function makePayoutMutationsPlugin(flows: PayoutFlows): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const table = (name: string): Table => {
      const resource = build.input.pgRegistry.pgResources[name];
      if (!resource) throw new Error(`payout mutations: no resource ${name} for settle.${name}`);
      return resource;
    };
    const payouts = table("seller_payouts");
    const debts = table("seller_debts");
    const row = (resource: Table) => ($payload: ObjectStep) =>
      resource.get({ id: $payload.get("id") });
    return {
      typeDefs,
      objects: {
        Mutation: {
          plans: {
            createPayout(_, fieldArgs) {
              return runFlow(fieldArgs, (caller, input: CreatePayoutInput) =>
                flows.createPayout(caller, {
                  sellerId: input.sellerId,
                  amount: input.amount == null ? null : minorUnits("amount", input.amount),
                  currency: input.currency ?? null,
                }),
              );
            },
            settleSellerDebt(_, fieldArgs) {
              return runFlow(fieldArgs, (caller, input: { debtId: string; reason: string }) =>
                flows.settleSellerDebt(caller, input.debtId, input.reason),
              );
            },
          },
        },
        CreatePayoutPayload: { assertStep: ObjectStep, plans: { payout: row(payouts) } },
        SettleSellerDebtPayload: { assertStep: ObjectStep, plans: { debt: row(debts) } },
      },
    };
  }, "SettlePayoutMutationsPlugin");
}
