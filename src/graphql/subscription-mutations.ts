/**
 * createSubscription and cancelSubscription (SPEC §6), planned as every flow
 * mutation is (./mutation-steps.ts): the flow runs as the request's caller, and
 * the payload's `Subscription` is read afterwards under the caller's row-level
 * security. Who may act and what is valid is decided by settle_api's SQL
 * functions; ./errors.ts maps their SQLSTATEs (VALID → VALIDATION, 42501 →
 * FORBIDDEN, SUBEX → SUBSCRIPTION_EXISTS).
 */
import "postgraphile";
import { ObjectStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Flows, SubscriptionRequest } from "../flows/index.ts";
import { idPayload, rowOf, tablesOf } from "./mutation-steps.ts";

const typeDefs = gql`
  input CreateSubscriptionInput {
    clientMutationId: String
    buyerId: UUID!
    planId: UUID!
  }
  type CreateSubscriptionPayload {
    clientMutationId: String
    "Incomplete until its first invoice is paid (charged by a job, outcome by webhook)."
    subscription: Subscription
  }

  input CancelSubscriptionInput {
    clientMutationId: String
    subscriptionId: UUID!
  }
  type CancelSubscriptionPayload {
    clientMutationId: String
    "Canceled (incomplete_expired if it never started); its open invoices uncollectible."
    subscription: Subscription
  }

  extend type Mutation {
    "Subscribes a buyer to a plan (the buyer itself, the platform, an admin)."
    createSubscription(input: CreateSubscriptionInput!): CreateSubscriptionPayload
    "Ends a subscription now (its buyer, the platform, an admin)."
    cancelSubscription(input: CancelSubscriptionInput!): CancelSubscriptionPayload
  }
`;

/** The flow, once per request, with the coerced input and the caller; → the subscription's id. */
export function makeSubscriptionMutationsPlugin(flows: Flows): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const subscription = rowOf(tablesOf(build, "subscription mutations")("subscriptions"));
    return {
      typeDefs,
      objects: {
        Mutation: {
          plans: {
            createSubscription: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: SubscriptionRequest) =>
                flows.createSubscription(caller, { buyerId: input.buyerId, planId: input.planId }),
              ),
            cancelSubscription: (_, fieldArgs) =>
              idPayload(fieldArgs, (caller, input: { subscriptionId: string }) =>
                flows.cancelSubscription(caller, input.subscriptionId),
              ),
          },
        },
        CreateSubscriptionPayload: { assertStep: ObjectStep, plans: { subscription } },
        CancelSubscriptionPayload: { assertStep: ObjectStep, plans: { subscription } },
      },
    };
  }, "SettleSubscriptionMutationsPlugin");
}
