/**
 * The periodic sweeper gives a payout whose job was lost its job back (000034),
 * as it does for transfers and reversals, instead of leaving it to the daily run;
 * and the sweep composed by 000031 (subscriptions) keeps working under it.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import type { JobHelpers } from "graphile-worker";
import { createPayout } from "../../src/flows/payouts.ts";
import { makeCreatePayout } from "../../src/tasks/seller_payouts__create.ts";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { makeSweeper } from "../../src/tasks/sweeper.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import { noHelpers, paidOrder, row, silent, type World, world } from "../tasks/support.ts";

const ADMIN = { role: "settle_admin", "jwt.claims.role": "settle_admin" };

/** The sweeper task itself, with no grace, on the test's pool. */
async function sweep(w: World): Promise<void> {
  const helpers = {
    withPgClient: async <T>(fn: (client: unknown) => Promise<T>) => {
      const client = await w.pool.connect();
      try {
        return await fn(client);
      } finally {
        client.release();
      }
    },
    addJob: async () => ({}), // its own next run: not this test's concern
  } as unknown as JobHelpers;
  await makeSweeper({ intervalMs: 0, logger: silent })({}, helpers);
}

async function jobs(w: World, id: string): Promise<{ id: string; identifier: string }[]> {
  const { rows } = await w.pool.query(
    `select j.id::text, k.identifier from graphile_worker._private_jobs j
     join graphile_worker._private_tasks k on k.id = j.task_id
     where j.key = $1 and j.payload->>'id' = $2`,
    [`seller_payouts:${id}`, id],
  );
  return rows;
}

async function loseJob(w: World, id: string): Promise<void> {
  await w.pool.query("delete from graphile_worker._private_jobs where key = $1", [
    `seller_payouts:${id}`,
  ]);
}

/** A seller with `amount` made at Stripe, and a payout of all of it. */
async function payout(w: World, amount = 1000): Promise<{ id: string; account: string }> {
  const o = await paidOrder(w, [{ amount }]);
  await makeCreateTransfer(w.deps)({ id: o.transferIds[0] }, noHelpers);
  const id = await createPayout(w.db, ADMIN, {
    sellerId: o.sellerIds[0]!,
    amount: null,
    currency: null,
  });
  return { id, account: o.accounts[0]! };
}

const stripePayouts = (w: World) =>
  w.stripeFake.requests({ method: "POST", path: "/v1/payouts" }).length;

test("a payout whose job was lost gets it back from one sweep, and is paid once", async (t) => {
  const w = await world(t);
  const { id } = await payout(w);
  t.is((await jobs(w, id)).length, 1, "enqueued with the row");
  await loseJob(w, id);
  t.is((await jobs(w, id)).length, 0);

  await sweep(w);
  const back = await jobs(w, id);
  t.deepEqual(
    back.map((j) => j.identifier),
    ["seller_payouts__create"],
    "one sweep re-drives it",
  );
  await sweep(w);
  t.is((await jobs(w, id)).length, 1, "a waiting job is not doubled");

  await makeCreatePayout(w.deps)({ id }, noHelpers);
  const sent = await row<{ external_payout_id: string | null }>(w, "seller_payouts", id);
  t.regex(sent.external_payout_id ?? "", /^po_/);
  // The sweeper's job runs too (it was queued before the send): nothing more.
  await makeCreatePayout(w.deps)({ id }, noHelpers);
  await loseJob(w, id);
  await sweep(w);
  t.is((await jobs(w, id)).length, 0, "a sent payout waits for Stripe's webhooks, not a job");
  t.is(stripePayouts(w), 1, "Stripe was asked once");
  t.is(
    w.stripeFake.requests({ method: "POST", path: "/v1/payouts" })[0]?.headers["idempotency-key"],
    id,
  );

  // Stripe pays it; its payout.paid event makes the row paid.
  const paid = w.stripeFake.settlePayout(sent.external_payout_id!, "paid");
  const { rows } = await w.pool.query(
    `insert into settle.webhook_events (provider, event_id, event_type, payload)
     values ('stripe', $1, 'payout.paid', $2) returning id`,
    [`evt_${randomUUID()}`, { type: "payout.paid", data: { object: paid } }],
  );
  await makeProcessWebhook(w.deps)({ id: rows[0].id }, noHelpers);
  t.is((await row<{ status: string }>(w, "seller_payouts", id)).status, "paid");
});

test("a payout in flight (retry due, outcome unknown) is re-driven with its key; a parked one is not", async (t) => {
  const w = await world(t);
  const inFlight = await payout(w);
  const parked = await payout(w, 500);
  await w.pool.query(
    `update settle.seller_payouts
     set retry_count = 1, outcome_unknown = true, next_retry_at = now() - interval '1 minute',
         last_error = 'unknown: timeout'
     where id = $1`,
    [inFlight.id],
  );
  await w.pool.query(
    "update settle.seller_payouts set outcome_unknown = true, next_retry_at = 'infinity' where id = $1",
    [parked.id],
  );
  await loseJob(w, inFlight.id);
  await loseJob(w, parked.id);

  await sweep(w);
  t.is((await jobs(w, inFlight.id)).length, 1);
  t.is((await jobs(w, parked.id)).length, 0, "parked for a human: never re-driven automatically");
  await makeCreatePayout(w.deps)({ id: inFlight.id }, noHelpers);
  const sent = w.stripeFake.requests({ method: "POST", path: "/v1/payouts" });
  t.deepEqual(
    sent.map((r) => r.headers["idempotency-key"]),
    [inFlight.id],
  );
});

test("the sweep still reports every kind, subscriptions, payouts and payment cancellations included", async (t) => {
  const w = await world(t);
  const { rows } = await w.pool.query<{ kind: string }>(
    "select kind from settle_private.sweep(interval '1 minute')",
  );
  t.deepEqual(rows.map((r) => r.kind).sort(), [
    "payment_cancellations",
    "refunds",
    "seller_payouts",
    "seller_transfers",
    "subscription_invoice_look_ups",
    "subscription_invoices",
    "subscriptions",
    "transfer_reversals",
    "webhook_events",
  ]);
});
