/**
 * The typed pool hands its connections on without resetting them (src/db/slonik.ts:
 * DISCARD ALL would throw away the session's cached plans). That is safe only while
 * nothing a caller does outlives its transaction: the caller's role and claims, the
 * actor named for the audit trail, a transaction that failed half-way.
 */
import test from "ava";
import { z } from "zod";
import { createSlonikPool, sql } from "../../src/db/slonik.ts";
import { asCaller } from "../../src/flows/caller.ts";
import { actAs } from "../../src/flows/database-context.ts";
import { createTestDatabase } from "../support/database.ts";
import { silent } from "../tasks/support.ts";

const Session = z.object({
  pid: z.number(),
  role: z.string(),
  claim: z.string().nullable(),
  actor: z.string().nullable(),
  in_transaction: z.boolean(),
});
const session = sql.type(Session)`
  select pg_backend_pid() as pid, current_user::text as role,
         nullif(current_setting('jwt.claims.role', true), '') as claim,
         nullif(current_setting('settle.actor', true), '') as actor,
         txid_current_if_assigned() is not null as in_transaction`;

test("a connection passed on keeps its session (cached plans) but nothing of the transactions it ran", async (t) => {
  const database = await createTestDatabase();
  const db = await createSlonikPool(database.url, { maximumPoolSize: 1, logger: silent });
  t.teardown(async () => {
    await db.end();
    await database.drop();
  });
  const clean = await db.one(session);
  t.deepEqual(
    { ...clean, pid: 0 },
    {
      pid: 0,
      role: clean.role,
      claim: null,
      actor: null,
      in_transaction: false,
    },
  );

  const caller = { role: "settle_platform", "jwt.claims.role": "settle_platform" };
  const asPlatform = await asCaller(db, caller, (tx) => tx.one(session));
  t.deepEqual(asPlatform, { ...clean, role: "settle_platform", claim: "settle_platform" });
  t.deepEqual(await db.one(session), clean, "the same connection, back to the pool's role");

  const asTask = await db.transaction(async (tx) => {
    await actAs(tx, "pooled_sessions_test");
    await tx.query(sql.type(z.object({}))`update settle.sellers set name = name`);
    return tx.one(session);
  });
  t.is(asTask.actor, "task:pooled_sessions_test");
  t.deepEqual(await db.one(session), clean, "the same connection, no actor left");

  // A transaction that fails is not handed on at all: slonik closes its connection.
  await t.throwsAsync(
    db.transaction(async (tx) => {
      await actAs(tx, "pooled_sessions_test");
      await tx.query(sql.type(z.object({}))`update settle.sellers set name = name`);
      throw new Error("the step failed half-way");
    }),
    { message: "the step failed half-way" },
  );
  const afterFailure = await db.one(session);
  t.not(afterFailure.pid, clean.pid);
  t.deepEqual(afterFailure, { ...clean, pid: afterFailure.pid });
});
