/**
 * A worker process killed with SIGKILL at the worst instants, then a new one
 * started (SPEC §1.5, §1.8, issue 4 item 7): graphile-worker keeps the dead
 * worker's job locked for 4 hours, yet the row reaches its terminal state within
 * a sweep interval and a backoff, and the money moves exactly once.
 *
 * What would make these fail: a sweeper that does not give the row a job again
 * (the wait times out while the dead job stays locked), a retry under a new key
 * without a look-up (a second transfer or reversal at Stripe), a row that does not
 * hold Stripe's id, a webhook half-applied by the dead process (order paid
 * without transfers, or transfers twice), or a broken money invariant.
 */
import test from "ava";
import {
  blockedBy,
  brokenInvariants,
  type CrashWorld,
  crashWorld,
  jobLockers,
  keyedPostProblems,
  makeOrder,
  refundViaWebhook,
  rowLocked,
  stillLockedBy,
  storeHyperswitchEvent,
  stripeReversalsOf,
  stripeTransfersOf,
  transitionsOf,
  until,
} from "./support.ts";

const CREATE_TRANSFER = "seller_transfers__create";
const REVERSE = "transfer_reversals__reverse";
const PROCESS_WEBHOOK = "webhook_events__process";
const TRANSFERS = /^\/v1\/transfers$/;
const REVERSALS = /^\/v1\/transfers\/[^/]+\/reversals$/;
/** From the new worker's start: a sweep (1 s), the job, and slack for a loaded 2-core machine. */
const RECOVERY_BOUND_MS = 15_000;

interface TransferRow {
  status: string;
  stripe_transfer_id: string | null;
  amount: string;
  retry_count: number;
  key_attempt: number;
  outcome_unknown: boolean;
}

async function transferRow(w: CrashWorld, id: string): Promise<TransferRow> {
  const { rows } = await w.pool.query<TransferRow>(
    "select status, stripe_transfer_id, amount::text, retry_count, key_attempt, outcome_unknown from settle.seller_transfers where id = $1",
    [id],
  );
  return rows[0]!;
}

const explainWith = (w: CrashWorld, sql: string) => async () =>
  `${JSON.stringify((await w.pool.query(sql)).rows)}\n${w.workerTails()}`;

test.serial(
  "SIGKILL inside the Stripe call: the transfer Stripe made is adopted once after a restart",
  async (t) => {
    t.timeout(60_000);
    const w = await crashWorld(t);
    const explain = explainWith(
      w,
      "select id, status, stripe_transfer_id, retry_count, last_error from settle.seller_transfers",
    );
    const o = await makeOrder(w.pool, [{ amount: 5_000, fee: 500 }]);
    const id = o.transferIds[0]!;
    // Stripe takes 3 s to answer the first transfer: the worker is inside the call.
    w.stripe.inject({
      method: "POST",
      path: "/v1/transfers",
      fault: { kind: "latency", ms: 3_000 },
    });

    const first = await w.startWorker("worker-1");
    await until(
      "the transfer request to reach Stripe",
      () => w.stripe.requests({ method: "POST", path: "/v1/transfers" }).length === 1,
      { explain },
    );
    const deadLockers = await jobLockers(w.pool, CREATE_TRANSFER, id);
    t.true(deadLockers.length > 0, "a job of the row is locked by worker-1");
    t.true(await rowLocked(w.pool, "seller_transfers", id), "the row is held during the call");
    t.deepEqual(stripeTransfersOf(w.stripe, id), [], "the call has not been carried out yet");

    await w.killHard(first);

    // The request reached Stripe: it is carried out although its caller is dead.
    const made = await until(
      "Stripe to carry out the transfer",
      () => stripeTransfersOf(w.stripe, id)[0],
      { timeoutMs: 10_000, explain },
    );
    // The dead process's transaction is rolled back; we know nothing of the transfer.
    await until(
      "the dead worker's row lock to go",
      async () => !(await rowLocked(w.pool, "seller_transfers", id)),
      { timeoutMs: 10_000, explain },
    );
    t.like(await transferRow(w, id), { status: "pending", stripe_transfer_id: null });

    const started = Date.now();
    const second = await w.startWorker("worker-2");
    const sinceStart = Date.now();
    await until(
      "the transfer row to complete",
      async () => (await transferRow(w, id)).status === "completed",
      { timeoutMs: 30_000, explain },
    );
    const recovery = Date.now() - sinceStart;
    t.log(
      `worker-2 started in ${sinceStart - started} ms, completed the transfer ${recovery} ms later`,
    );
    t.true(recovery < RECOVERY_BOUND_MS, `recovered in ${recovery} ms`);

    // Exactly one transfer at Stripe, and it is the one our row holds.
    t.is(stripeTransfersOf(w.stripe, id).length, 1);
    t.is(w.stripe.transfers().length, 1);
    t.like(await transferRow(w, id), {
      status: "completed",
      stripe_transfer_id: made.id,
      amount: "4500",
      outcome_unknown: false,
    });
    // The retry used the same key, and Stripe answered it from the key.
    const posts = w.proxy.exchanges({ method: "POST", path: TRANSFERS });
    t.is(posts.length, 2, "the dead worker's call and the new worker's retry");
    t.deepEqual(
      posts.map((e) => e.key),
      [id, id],
    );
    t.deepEqual(keyedPostProblems(posts), []);
    t.true(posts[1]?.replayed, "the retry was answered from the key");
    // The row went pending → completed once; the dead job is still locked (the
    // sweeper, not graphile-worker, gave the row its new job).
    t.deepEqual(
      (await transitionsOf(w.pool, id)).map((tr) => [tr.from_status, tr.to_status]),
      [
        [null, "pending"],
        ["pending", "completed"],
      ],
    );
    t.true(
      await stillLockedBy(w.pool, CREATE_TRANSFER, id, deadLockers),
      "graphile-worker still holds the dead worker's job",
    );
    // The new job came from a sweeper (before or after the kill), not from graphile-worker.
    t.regex(first.output() + second.output(), /sweeper gave jobs back/);
    t.deepEqual(await brokenInvariants(w.pool), []);
  },
);

test.serial(
  "SIGKILL with the request still on its way: it never reached Stripe, and is made once after a restart",
  async (t) => {
    t.timeout(60_000);
    const w = await crashWorld(t);
    const explain = explainWith(
      w,
      "select id, status, stripe_transfer_id, retry_count, last_error from settle.seller_transfers",
    );
    const o = await makeOrder(w.pool, [{ amount: 3_000, fee: 300 }]);
    const id = o.transferIds[0]!;
    // The proxy parks the request: the worker is inside the call, nothing reached Stripe.
    w.proxy.hold({ method: "POST", path: TRANSFERS });

    const first = await w.startWorker("worker-1");
    await until("the transfer request to be on its way", () => w.proxy.heldCount() === 1, {
      explain,
    });
    const deadLockers = await jobLockers(w.pool, CREATE_TRANSFER, id);
    t.true(deadLockers.length > 0, "a job of the row is locked by worker-1");
    t.true(await rowLocked(w.pool, "seller_transfers", id), "the row is held during the call");

    await w.killHard(first);
    // The connection dies with the process; the request is lost on the way.
    w.proxy.dropHeld();
    w.proxy.stopHolding();
    t.is(w.stripe.requests({ method: "POST", path: "/v1/transfers" }).length, 0);
    t.deepEqual(w.stripe.transfers(), []);
    await until(
      "the dead worker's row lock to go",
      async () => !(await rowLocked(w.pool, "seller_transfers", id)),
      { timeoutMs: 10_000, explain },
    );
    t.like(await transferRow(w, id), { status: "pending", stripe_transfer_id: null });

    const second = await w.startWorker("worker-2");
    const sinceStart = Date.now();
    await until(
      "the transfer row to complete",
      async () => (await transferRow(w, id)).status === "completed",
      { timeoutMs: 30_000, explain },
    );
    const recovery = Date.now() - sinceStart;
    t.true(recovery < RECOVERY_BOUND_MS, `recovered in ${recovery} ms`);

    const atStripe = stripeTransfersOf(w.stripe, id);
    t.is(atStripe.length, 1, "made exactly once");
    t.is(w.stripe.transfers().length, 1);
    t.like(await transferRow(w, id), { stripe_transfer_id: atStripe[0]?.id, amount: "2700" });
    const reached = w.stripe.requests({ method: "POST", path: "/v1/transfers" });
    t.is(reached.length, 1, "one request reached Stripe: the new worker's");
    t.is(reached[0]?.headers["idempotency-key"], id, "under the row's own key");
    t.deepEqual(keyedPostProblems(w.proxy.exchanges({ method: "POST", path: TRANSFERS })), []);
    t.true(
      await stillLockedBy(w.pool, CREATE_TRANSFER, id, deadLockers),
      "graphile-worker still holds the dead worker's job",
    );
    // The new job came from a sweeper (before or after the kill), not from graphile-worker.
    t.regex(first.output() + second.output(), /sweeper gave jobs back/);
    t.deepEqual(await brokenInvariants(w.pool), []);
  },
);

test.serial(
  "SIGKILL inside a reversal call: each reversal is made once after a restart",
  async (t) => {
    t.timeout(60_000);
    const w = await crashWorld(t);
    const explain = explainWith(
      w,
      "select id, status, stripe_reversal_id, retry_count, last_error from settle.transfer_reversals",
    );
    const o = await makeOrder(w.pool, [
      { amount: 4_000, fee: 400 },
      { amount: 6_000, fee: 600 },
    ]);
    const first = await w.startWorker("worker-1");
    await until(
      "both transfers to be made",
      async () =>
        (
          await w.pool.query(
            "select 1 from settle.seller_transfers where order_id = $1 and status = 'completed'",
            [o.orderId],
          )
        ).rowCount === 2,
      { explain },
    );
    // Stripe takes 3 s over the first reversal; the refund webhook gives both.
    w.stripe.inject({
      method: "POST",
      path: "/v1/transfers/[^/]+/reversals",
      fault: { kind: "latency", ms: 3_000 },
    });
    const refundId = await refundViaWebhook(w.pool, o, o.total);
    await until(
      "a reversal request to reach Stripe",
      () => w.stripe.requests({ method: "POST", path: REVERSALS }).length >= 1,
      { explain },
    );
    const slowKey = String(
      w.stripe.requests({ method: "POST", path: REVERSALS })[0]?.headers["idempotency-key"],
    );
    t.true(await rowLocked(w.pool, "transfer_reversals", slowKey), "the reversal row is held");
    const deadLockers = await jobLockers(w.pool, REVERSE, slowKey);
    t.true(deadLockers.length > 0, "a job of the row is locked by worker-1");

    await w.killHard(first);
    await until(
      "Stripe to carry out the slow reversal",
      () => stripeReversalsOf(w.stripe, slowKey).length === 1,
      { timeoutMs: 10_000, explain },
    );
    await until(
      "the dead worker's row lock to go",
      async () => !(await rowLocked(w.pool, "transfer_reversals", slowKey)),
      { timeoutMs: 10_000, explain },
    );
    const { rows: slowBefore } = await w.pool.query(
      "select status from settle.transfer_reversals where id = $1",
      [slowKey],
    );
    t.is(slowBefore[0]?.status, "pending", "we do not know of it yet");

    const second = await w.startWorker("worker-2");
    const sinceStart = Date.now();
    await until(
      "both reversals to be reversed",
      async () =>
        (
          await w.pool.query(
            "select 1 from settle.transfer_reversals where refund_id = $1 and status = 'reversed'",
            [refundId],
          )
        ).rowCount === 2,
      { timeoutMs: 30_000, explain },
    );
    const recovery = Date.now() - sinceStart;
    t.true(recovery < RECOVERY_BOUND_MS, `recovered in ${recovery} ms`);

    const { rows: reversals } = await w.pool.query(
      `select r.id, r.amount::text, r.stripe_reversal_id, t.status as transfer_status, t.stripe_transfer_id
     from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id
     where r.refund_id = $1`,
      [refundId],
    );
    t.is(reversals.length, 2);
    for (const r of reversals) {
      const atStripe = stripeReversalsOf(w.stripe, r.id);
      t.is(atStripe.length, 1, `reversal ${r.id} made once`);
      t.is(r.stripe_reversal_id, atStripe[0]?.id);
      t.is(String(atStripe[0]?.amount), r.amount);
      t.is(atStripe[0]?.transfer, r.stripe_transfer_id);
      t.is(r.transfer_status, "reversed", "a full refund reverses the whole transfer");
    }
    for (const tr of w.stripe.transfers()) {
      t.true(tr.reversed, `${tr.id} fully reversed at Stripe`);
      t.is(tr.amount_reversed, tr.amount);
    }
    t.deepEqual(keyedPostProblems(w.proxy.exchanges({ method: "POST", path: REVERSALS })), []);
    t.true(
      await stillLockedBy(w.pool, REVERSE, slowKey, deadLockers),
      "graphile-worker still holds the dead worker's job",
    );
    // The new job came from a sweeper (before or after the kill), not from graphile-worker.
    t.regex(first.output() + second.output(), /sweeper gave jobs back/);
    t.deepEqual(await brokenInvariants(w.pool), []);
  },
);

test.serial(
  "SIGKILL in the middle of applying a payment webhook: nothing half-applied, applied once after a restart",
  async (t) => {
    t.timeout(60_000);
    const w = await crashWorld(t);
    const o = await makeOrder(
      w.pool,
      [
        { amount: 2_500, fee: 250 },
        { amount: 3_500, fee: 350 },
      ],
      { paid: false },
    );
    const explain = explainWith(
      w,
      `select 'event' as what, processed_at::text as status, last_error from settle.webhook_events
     union all select 'order', status, last_error from settle.orders
     union all select 'transfer', status, last_error from settle.seller_transfers`,
    );
    // A transaction of the test holds the seller that sorts last: applying the event
    // marks the order paid and inserts the first transfer (and its job), then waits
    // on that seller (the foreign key check), inside the worker's transaction.
    const lastSeller = [...o.sellerIds].sort().at(-1)!;
    const locker = await w.pool.connect();
    t.teardown(() => locker.release());
    await locker.query("begin");
    await locker.query("select id from settle.sellers where id = $1 for update", [lastSeller]);
    const lockerPid = (await locker.query("select pg_backend_pid() as pid")).rows[0].pid as number;

    const first = await w.startWorker("worker-1");
    const eventId = await storeHyperswitchEvent(w.pool, "payment_succeeded", {
      payment_id: o.orderId,
      merchant_id: "merchant_fake",
      amount: o.total,
      currency: "EUR",
    });
    await until(
      "the worker to be inside the event's transaction, waiting",
      async () => (await blockedBy(w.pool, lockerPid)).length > 0,
      { explain },
    );
    const deadLockers = await jobLockers(w.pool, PROCESS_WEBHOOK, eventId);
    t.true(deadLockers.length > 0, "a job of the row is locked by worker-1");
    t.true(await rowLocked(w.pool, "webhook_events", eventId), "the event row is held");

    await w.killHard(first);
    await locker.query("commit");
    // The dead process's transaction cannot commit: it is rolled back.
    await until(
      "the dead worker's transaction to go",
      async () => !(await rowLocked(w.pool, "webhook_events", eventId)),
      { timeoutMs: 10_000, explain },
    );
    const { rows: mid } = await w.pool.query(
      `select o.status, (select count(*)::int from settle.seller_transfers where order_id = o.id) as transfers,
            (select processed_at from settle.webhook_events where id = $2) as processed_at
     from settle.orders o where o.id = $1`,
      [o.orderId, eventId],
    );
    t.deepEqual(mid[0], { status: "payment_pending", transfers: 0, processed_at: null });
    t.deepEqual(
      (
        await w.pool.query("select id from graphile_worker.jobs where task_identifier = $1", [
          CREATE_TRANSFER,
        ])
      ).rows,
      [],
      "no transfer job survives the rolled-back transaction",
    );

    const second = await w.startWorker("worker-2");
    const sinceStart = Date.now();
    await until(
      "the event to be applied and both transfers made",
      async () => {
        const { rows } = await w.pool.query(
          `select (select processed_at from settle.webhook_events where id = $2) is not null as processed,
                (select count(*)::int from settle.seller_transfers where order_id = $1 and status = 'completed') as made`,
          [o.orderId, eventId],
        );
        return rows[0].processed && rows[0].made === 2;
      },
      { timeoutMs: 30_000, explain },
    );
    const recovery = Date.now() - sinceStart;
    t.true(recovery < RECOVERY_BOUND_MS, `recovered in ${recovery} ms`);

    const { rows: transfers } = await w.pool.query(
      "select id, seller_id, amount::text, stripe_transfer_id from settle.seller_transfers where order_id = $1",
      [o.orderId],
    );
    t.is(transfers.length, 2, "one transfer row per seller, not two sets");
    for (const tr of transfers) {
      const atStripe = stripeTransfersOf(w.stripe, tr.id);
      t.is(atStripe.length, 1, `transfer ${tr.id} made once`);
      t.is(tr.stripe_transfer_id, atStripe[0]?.id);
      t.is(String(atStripe[0]?.amount), tr.amount);
    }
    t.is(w.stripe.transfers().length, 2);
    t.deepEqual(
      (await transitionsOf(w.pool, o.orderId)).map((tr) => tr.to_status),
      ["pending", "payment_pending", "paid"],
      "the order was paid once",
    );
    const { rows: event } = await w.pool.query(
      "select last_error from settle.webhook_events where id = $1",
      [eventId],
    );
    t.is(event[0]?.last_error, null);
    t.true(
      await stillLockedBy(w.pool, PROCESS_WEBHOOK, eventId, deadLockers),
      "graphile-worker still holds the dead worker's job",
    );
    // The new job came from a sweeper (before or after the kill), not from graphile-worker.
    t.regex(first.output() + second.output(), /sweeper gave jobs back/);
    t.deepEqual(await brokenInvariants(w.pool), []);
  },
);
