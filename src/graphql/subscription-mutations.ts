/**
 * createSubscription and cancelSubscription (SPEC §6), built like
 * ./flow-mutations.ts: the flow runs in a `sideEffect` as the request's caller,
 * and the payload's `Subscription` is read afterwards through the table's
 * resource, under the caller's row-level security. Who may act and what is valid
 * is decided by settle_api's SQL functions; ./errors.ts maps their SQLSTATEs
 * (VALID → VALIDATION, 42501 → FORBIDDEN, SUBEX → SUBSCRIPTION_EXISTS).
 */
import "postgraphile";
import {
  context,
  type FieldArgs,
  ObjectStep,
  object,
  type Step,
  sideEffect,
} from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Caller, Flows, SubscriptionRequest } from "../flows/index.ts";
import { callerOf } from "./flow-input.ts";

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
function runFlow<TInput>(
  fieldArgs: FieldArgs,
  flow: (caller: Caller, input: TInput) => Promise<string>,
) {
  const $input = fieldArgs.getRaw("input") as Step<TInput>;
  const $id = sideEffect([$input, context().get("pgSettings")], ([input, pgSettings]) =>
    flow(callerOf(pgSettings), input),
  );
  return object({ id: $id, clientMutationId: fieldArgs.getRaw(["input", "clientMutationId"]) });
}

export function makeSubscriptionMutationsPlugin(flows: Flows): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const subscriptions = build.input.pgRegistry.pgResources.subscriptions;
    if (!subscriptions)
      throw new Error("subscription mutations: no resource for settle.subscriptions");
    const subscription = ($payload: ObjectStep) => subscriptions.get({ id: $payload.get("id") });
    return {
      typeDefs,
      objects: {
        Mutation: {
          plans: {
            createSubscription: (_, fieldArgs) =>
              runFlow(fieldArgs, (caller, input: SubscriptionRequest) =>
                flows.createSubscription(caller, { buyerId: input.buyerId, planId: input.planId }),
              ),
            cancelSubscription: (_, fieldArgs) =>
              runFlow(fieldArgs, (caller, input: { subscriptionId: string }) =>
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
