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
  const settings = Object.entries(caller).filter(([name]) => ALLOWED.has(name));
  return db.transaction(async (tx) => {
    // One statement for all of them: a round trip each would be paid by every request.
    if (settings.length > 0) {
      await tx.query(
        sql.type(z.object({}))`select ${sql.join(
          settings.map(
            ([name, value], i) =>
              sql.fragment`set_config(${name}, ${value}, true) as ${sql.identifier([`_${i}`])}`,
          ),
          sql.fragment`, `,
        )}`,
      );
    }
    return step(tx);
  });
}
