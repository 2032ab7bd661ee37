/**
 * How every flow mutation is planned (./flow-mutations.ts, ./payout-mutations.ts,
 * ./subscription-mutations.ts): the flow runs once per request, in a `sideEffect`,
 * as the request's caller (pgSettings); the payload echoes the Relay
 * clientMutationId; and the payload's row is read after the flow through its
 * table's resource, so the client gets the real type as the caller's row-level
 * security lets it see that row now.
 */
import "postgraphile";
import {
  context,
  type FieldArgs,
  type ObjectStep,
  object,
  type Step,
  sideEffect,
} from "postgraphile/grafast";
import type { Caller } from "../flows/index.ts";
import { callerOf } from "./flow-input.ts";

/**
 * The flow, once per request, with the coerced input and the caller. Its result
 * is what the payload is planned from, so the row fetch waits for the flow.
 */
export function runFlow<TInput, TOut>(
  fieldArgs: FieldArgs,
  flow: (caller: Caller, input: TInput) => Promise<TOut>,
): Step<TOut> {
  const $input = fieldArgs.getRaw("input") as Step<TInput>;
  return sideEffect([$input, context().get("pgSettings")], ([input, pgSettings]) =>
    flow(callerOf(pgSettings), input),
  );
}

/** The payload's source: the row's id (and whatever else), plus the clientMutationId echoed back. */
export function payload(fieldArgs: FieldArgs, fields: Record<string, Step>) {
  return object({ ...fields, clientMutationId: fieldArgs.getRaw(["input", "clientMutationId"]) });
}

/** The common case: a flow that returns the id of the row its payload shows. */
export function idPayload<TInput>(
  fieldArgs: FieldArgs,
  flow: (caller: Caller, input: TInput) => Promise<string>,
) {
  return payload(fieldArgs, { id: runFlow(fieldArgs, flow) });
}

/** A table's resource, typed as the registry types all its resources. */
export type Table = GraphileBuild.Build["input"]["pgRegistry"]["pgResources"][string];

/** Looks up the resources of settle's tables; `plugin` names the caller in the error. */
export function tablesOf(build: GraphileBuild.Build, plugin: string) {
  return (name: string): Table => {
    const resource = build.input.pgRegistry.pgResources[name];
    if (!resource) throw new Error(`${plugin}: no resource ${name} for settle.${name}`);
    return resource;
  };
}

/** The payload's row: `get` on its id, a lookup by primary key under the caller's RLS. */
export const rowOf = (resource: Table) => ($payload: ObjectStep) =>
  resource.get({ id: $payload.get("id") });
