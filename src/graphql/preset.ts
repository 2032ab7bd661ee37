/**
 * The PostGraphile 5 preset of the API: schema `settle` read through the caller's
 * Postgres role (RLS decides what each role sees), custom mutations only (the
 * SECURITY DEFINER functions; generated CRUD is hidden because writes must go
 * through the functions that check the caller), row uuids as ids, and errors
 * mapped to stable codes (errors.ts for execution, request-errors.ts for
 * documents and variables that are not valid).
 */
import "postgraphile";
import type { Pool } from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import type { Flows } from "../flows/index.ts";
import type { Logger } from "../log.ts";
import { type Authenticate, pgSettingsFor } from "./auth.ts";
import { makeMaskError } from "./errors.ts";
import { makeFlowMutationsPlugin } from "./flow-mutations.ts";
import { makeJwtPlugin } from "./jwt-plugin.ts";
import { makePayoutMutationsPlugin } from "./payout-mutations.ts";
import { RequestErrorsPlugin } from "./request-errors.ts";
import { RELAY_NODE_PLUGINS, RowIdsPlugin } from "./row-ids.ts";
import { makeSubscriptionMutationsPlugin } from "./subscription-mutations.ts";

export const GRAPHQL_PATH = "/graphql";
export const GRAPHIQL_PATH = "/graphiql";

export interface PresetOptions {
  /** Shared with graphile-worker: one pool per process. */
  pool: Pool;
  /** The flows behind the mutations that call a PSP (confirmOrder, refundOrder, …). */
  flows?: Flows;
  authenticate: Authenticate;
  logger: Logger;
}

export interface SettlePreset {
  preset: GraphileConfig.Preset;
  /**
   * `pgl.release()` does not release the services it was given; the caller does,
   * after PostGraphile (the pool itself stays the caller's to end).
   */
  releaseService(): Promise<void>;
}

export function makeSettlePreset({
  pool,
  flows,
  authenticate,
  logger,
}: PresetOptions): SettlePreset {
  const pgService = makePgService({
    pool,
    schemas: ["settle"],
    // No GraphQL subscriptions: no LISTEN connection held out of the shared pool.
    pubsub: false,
  });
  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    // No GraphQL subscriptions are served, and the root `Subscription` type would
    // take the name of the `subscriptions` table's type (which then disappears).
    disablePlugins: [...RELAY_NODE_PLUGINS, "SubscriptionPlugin"],
    plugins: [
      RowIdsPlugin,
      RequestErrorsPlugin,
      makeJwtPlugin(authenticate),
      ...(flows
        ? [
            makeFlowMutationsPlugin(flows),
            makeSubscriptionMutationsPlugin(flows),
            makePayoutMutationsPlugin(flows),
          ]
        : []),
    ],
    pgServices: [pgService],
    schema: {
      // Scoped to resources (tables): the bare "-insert" would also take away the
      // input type of composite function arguments, e.g. create_order's
      // settle.new_order_item[], and with it the createOrder mutation.
      defaultBehavior: "-resource:insert -resource:update -resource:delete",
    },
    grafserv: {
      graphqlPath: GRAPHQL_PATH,
      graphiql: true,
      graphiqlPath: GRAPHIQL_PATH,
      websockets: false,
      maskError: makeMaskError(logger),
    },
    grafast: {
      async context(requestContext, args) {
        // The JWT plugin already answered 401 to untrusted headers; verifying again
        // here keeps this the single place identity enters the database, whatever
        // transport delivered the request.
        const identity = await authenticate(requestContext.http?.getHeader("authorization"));
        return {
          pgSettings: { ...args.contextValue?.pgSettings, ...pgSettingsFor(identity) },
        };
      },
    },
  };
  return {
    preset,
    async releaseService() {
      await pgService.release?.();
    },
  };
}
