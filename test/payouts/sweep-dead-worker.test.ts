/**
 * The periodic sweeper re-drives payouts whose job was lost (found by `npm run
 * chaos`: a worker SIGKILLed while it held a payout's job left the payout pending,
 * its job locked for graphile-worker's 4 hours, and settle_private.sweep did not
 * look at payouts). A parked payout (outcome unknown, next_retry_at = infinity)
 * stays parked, and a sent one is left alone.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { createPayout } from "../../src/flows/payouts.ts";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { noHelpers, paidOrder, type World, world } from "../tasks/support.ts";

const ADMIN = { role: "settle_admin", "jwt.claims.role": "settle_admin" };

async function payoutOf(w: World, amount: number): Promise<string> {
  const o = await paidOrder(w, [{ amount }]);
  await makeCreateTransfer(w.deps)({ id: o.transferIds[0] }, noHelpers);
  return createPayout(w.db, ADMIN, { sellerId: o.sellerIds[0]!, amount: null, currency: null });
}

/** The job is held by a worker that died: locked, never finished. */
async function loseJob(w: World, payoutId: string): Promise<void> {
  const { rowCount } = await w.pool.query(
    "update graphile_worker._private_jobs set locked_at = now(), locked_by = $2 where key = $1",
    [`seller_payouts:${payoutId}`, `dead-worker-${randomUUID()}`],
  );
  if (rowCount !== 1) throw new Error(`payout ${payoutId} had no job to lose`);
}

async function waitingJobs(w: World, payoutId: string): Promise<number> {
  const { rows } = await w.pool.query(
    `select count(*)::int as n from graphile_worker._private_jobs j
     join graphile_worker._private_tasks k on k.id = j.task_id
     where k.identifier = 'seller_payouts__create' and j.payload->>'id' = $1 and j.locked_at is null`,
    [payoutId],
  );
  return rows[0].n;
}

async function sweep(w: World): Promise<Record<string, number>> {
  const { rows } = await w.pool.query(
    "select kind, requeued from settle_private.sweep(interval '0 seconds')",
  );
  return Object.fromEntries(rows.map((r) => [r.kind, r.requeued]));
}

test("a payout whose job a dead worker holds gets a new job from the sweeper", async (t) => {
  const w = await world(t);
  const id = await payoutOf(w, 1_000);
  await loseJob(w, id);
  t.is(await waitingJobs(w, id), 0);

  const requeued = await sweep(w);
  t.is(requeued.seller_payouts, 1);
  t.is(await waitingJobs(w, id), 1, "the row has a job that a live worker can take");
  t.is((await sweep(w)).seller_payouts, 0, "a second sweep finds the job waiting");
});

test("the sweeper leaves parked and sent payouts alone", async (t) => {
  const w = await world(t);
  const parked = await payoutOf(w, 1_000);
  const sent = await payoutOf(w, 2_000);
  await loseJob(w, parked);
  await loseJob(w, sent);
  await w.pool.query(
    "update settle.seller_payouts set outcome_unknown = true, next_retry_at = 'infinity' where id = $1",
    [parked],
  );
  await w.pool.query(
    "update settle.seller_payouts set external_payout_id = 'po_1sweeptest' where id = $1",
    [sent],
  );
  t.is((await sweep(w)).seller_payouts, 0);
  t.is(await waitingJobs(w, parked), 0);
  t.is(await waitingJobs(w, sent), 0);
});
