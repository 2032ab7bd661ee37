/**
 * The application's typed query layer (slonik). Every query names a zod schema
 * with `sql.type(...)`, and the result-parser interceptor below makes that schema
 * an actual check of each row: without it slonik only uses it for types.
 * int8 comes back as bigint (money is integer minor units; never a float),
 * timestamps as epoch milliseconds.
 */
import { createPgDriverFactory } from "@slonik/pg-driver";
import {
  createPool,
  createTypeParserPreset,
  type DatabasePool,
  type Interceptor,
  SchemaValidationError,
  sql,
} from "slonik";
import type { Logger } from "../log.ts";

export type { DatabasePool };
export { sql };

const resultParser: Interceptor = {
  name: "settle-result-parser",
  transformRowAsync: async (context, query, row) => {
    if (!context.resultParser) return row;
    const validated = await context.resultParser["~standard"].validate(row);
    if (validated.issues) {
      throw new SchemaValidationError(query, row, validated.issues);
    }
    return validated.value as typeof row;
  },
};

/** How long an idle connection is kept, in both pools (see createSlonikPool). */
export const IDLE_CONNECTION_MS = 10 * 60_000;

export interface SlonikOptions {
  maximumPoolSize: number;
  logger: Logger;
}

export async function createSlonikPool(url: string, options: SlonikOptions): Promise<DatabasePool> {
  return createPool(url, {
    driverFactory: createPgDriverFactory(),
    interceptors: [resultParser],
    typeParsers: createTypeParserPreset(),
    maximumPoolSize: options.maximumPoolSize,
    // A PSP call happens inside the transaction that holds its row (see tasks):
    // bounded by PSP_TIMEOUT_MS, well inside these limits.
    statementTimeout: 30_000,
    idleInTransactionSessionTimeout: 60_000,
    connectionTimeout: 5_000,
    // slonik's default reset is DISCARD ALL on every release: a round trip, and it
    // drops the session's cached plans, so every transaction planned each
    // statement of our plpgsql functions and triggers anew (pg_stat_statements
    // over a bench's refunds: more than half of their database time). Nothing
    // here outlives a transaction: settings are set_config(..., true), no session
    // locks, no temporary tables, no prepared statements of our own, and slonik
    // ends every transaction it opened before it releases the connection.
    resetConnection: async () => {},
    // A session plans our functions' statements on their first runs in it:
    // refunds on fresh connections take about 1.5 times as long at p99 (npm run
    // bench, "cold"). Idle connections are kept for minutes (slonik's default
    // closes them after 5 s), so that a service between bursts of traffic still
    // has planned sessions. A connection the server drops while idle is
    // destroyed by slonik at once.
    idleTimeout: IDLE_CONNECTION_MS,
  });
}
