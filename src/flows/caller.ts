/**
 * API flows run their database steps as the caller of the GraphQL request: the
 * same role and JWT claims PostGraphile would apply (transaction-local), so the
 * SECURITY DEFINER steps in settle_api check the right caller.
 */
import type { DatabaseTransactionConnection } from "slonik";
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";

/** PostGraphile's pgSettings of the request: role, jwt.claims.role, jwt.claims.sub. */
export type Caller = Readonly<Record<string, string>>;

const ALLOWED = new Set(["role", "jwt.claims.role", "jwt.claims.sub"]);

export async function asCaller<T>(
  db: DatabasePool,
  caller: Caller,
  step: (tx: DatabaseTransactionConnection) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    for (const [name, value] of Object.entries(caller)) {
      if (!ALLOWED.has(name)) continue;
      await tx.query(
        sql.type(z.object({ _: z.string() }))`select set_config(${name}, ${value}, true) as _`,
      );
    }
    return step(tx);
  });
}
