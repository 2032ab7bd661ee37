/**
 * Two `npm run worker` processes on one database (SPEC §1, issue 4 item 7): every
 * seller transfer and every reversal is made exactly once at Stripe, whichever
 * process runs its job, while the sweeper re-enqueues rows whose jobs are busy;
 * the refunds arrive as webhooks that the same two processes apply.
 *
 * What would make it fail: two runs of one row calling Stripe together (a 409
 * idempotency_key_in_use, or two objects for one row), a replay answered with a
 * new object, a row holding an id Stripe does not have (or another row's), an
 * amount at Stripe different from the row's, a row left pending or failed, a
 * refund event not applied, money at Stripe that does not match shares minus
 * refunds, one process doing all the work, or any row of ops.money_invariants.
 * (Refunds racing transfers in flight are refund-during-transfer.test.ts.)
 */
import test from "ava";
import {
  brokenInvariants,
  crashWorld,
  keyedPostProblems,
  makeOrder,
  type Order,
  refundViaWebhook,
  stripeReversalsOf,
  stripeTransfersOf,
  until,
} from "./support.ts";

const ORDERS = 20;
const REFUNDED = 10;
const TRANSFERS = /^\/v1\/transfers$/;
const REVERSALS = /^\/v1\/transfers\/[^/]+\/reversals$/;

interface TransferRow {
  id: string;
  order_id: string;
  seller_id: string;
  amount: string;
  status: string;
  stripe_transfer_id: string | null;
  stripe_account_id: string;
}

interface ReversalRow {
  id: string;
  seller_transfer_id: string;
  amount: string;
  status: string;
  stripe_reversal_id: string | null;
  stripe_transfer_id: string | null;
}

test("two worker processes make every transfer and every reversal exactly once", async (t) => {
  t.timeout(90_000);
  const w = await crashWorld(t);
  // Each POST spends a while at Stripe, so the two processes' jobs overlap and the
  // refunds below meet transfers in flight.
  // With the fleet-wide budget of 25 requests/s, rows wait longer than the sweep
  // grace, so the sweeper hands out second jobs for rows whose job is running.
  w.stripe.setProcessingDelay(250);
  // Each worker has its own API key, so the proxy tells whose request is whose.
  const settings = { STRIPE_MAX_REQUESTS_PER_SECOND: "25", WORKER_CONCURRENCY: "5" };
  const [a, b] = await Promise.all([
    w.startWorker("worker-a", { ...settings, STRIPE_SECRET_KEY: "sk_test_worker_a" }),
    w.startWorker("worker-b", { ...settings, STRIPE_SECRET_KEY: "sk_test_worker_b" }),
  ]);
  const explain = async () => {
    const { rows } = await w.pool.query(
      `select 'transfer' as kind, status, count(*)::int from settle.seller_transfers group by status
       union all select 'reversal', status, count(*)::int from settle.transfer_reversals group by status`,
    );
    return `${JSON.stringify(rows)}\n${w.workerTails()}`;
  };

  // 20 paid orders of 2 sellers: 40 transfer rows, each with its job, committed
  // while both workers listen.
  const orders: Order[] = [];
  for (let n = 0; n < ORDERS; n++) {
    orders.push(
      await makeOrder(w.pool, [
        { amount: 1_000 + 10 * n, fee: 100 },
        { amount: 2_001 + 7 * n, fee: 150 },
      ]),
    );
  }
  t.is(orders.flatMap((o) => o.transferIds).length, 2 * ORDERS);

  await until(
    "every transfer to be made",
    async () => {
      const { rows } = await w.pool.query(
        "select count(*)::int as n from settle.seller_transfers where status in ('pending', 'failed', 'permanently_failed')",
      );
      return rows[0].n === 0;
    },
    { timeoutMs: 45_000, explain },
  );

  // Then refunds of the made transfers, as the PSP reports them (refund_succeeded
  // webhooks, processed by the workers): full ones and partial ones (thirds, so the
  // pro-rata split needs rounding), each giving a reversal row and job per seller.
  const refunded = orders.slice(0, REFUNDED);
  for (const [n, o] of refunded.entries()) {
    await refundViaWebhook(w.pool, o, n % 2 === 0 ? o.total : Math.floor(o.total / 3));
  }
  await until(
    "every refund to be applied and every reversal reversed",
    async () => {
      const { rows } = await w.pool.query(
        `select (select count(*)::int from settle.webhook_events where processed_at is null) as unprocessed,
                (select count(*)::int from settle.transfer_reversals where status <> 'reversed') as open`,
      );
      return rows[0].unprocessed === 0 && rows[0].open === 0;
    },
    { timeoutMs: 45_000, explain },
  );
  // The status the transfers take from their reversals is written in the same
  // transaction; nothing is still moving.
  const transfers = (
    await w.pool.query<TransferRow>(
      `select t.id, t.order_id, t.seller_id, t.amount::text, t.status, t.stripe_transfer_id, s.stripe_account_id
       from settle.seller_transfers t join settle.sellers s on s.id = t.seller_id`,
    )
  ).rows;
  const reversals = (
    await w.pool.query<ReversalRow>(
      `select r.id, r.seller_transfer_id, r.amount::text, r.status, r.stripe_reversal_id, t.stripe_transfer_id
       from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id`,
    )
  ).rows;

  // Every transfer row: made exactly once, with our amount, to its seller, in its
  // order's group, and our id is Stripe's.
  const made = transfers;
  t.is(made.length, 2 * ORDERS);
  for (const r of transfers) {
    const atStripe = stripeTransfersOf(w.stripe, r.id);
    t.true(
      ["completed", "partially_reversed", "reversed"].includes(r.status),
      `${r.id}: ${r.status}`,
    );
    t.is(atStripe.length, 1, `transfer ${r.id} made once at Stripe`);
    t.is(r.stripe_transfer_id, atStripe[0]?.id ?? null, `transfer ${r.id} holds Stripe's id`);
    t.is(String(atStripe[0]?.amount), r.amount, `transfer ${r.id} amount`);
    t.is(atStripe[0]?.destination, r.stripe_account_id);
    t.is(atStripe[0]?.transfer_group, r.order_id);
  }
  t.is(w.stripe.transfers().length, made.length, "no transfer at Stripe without its row");

  // Every reversal row: made once, on its transfer, with our amount and Stripe's id.
  t.is(reversals.length, 2 * REFUNDED, "one reversal per seller of each refunded order");
  const reversalsAtStripe = w.stripe.transfers().flatMap((tr) => tr.reversals.data);
  t.is(reversalsAtStripe.length, reversals.length, "no reversal at Stripe without its row");
  for (const r of reversals) {
    const atStripe = stripeReversalsOf(w.stripe, r.id);
    t.is(r.status, "reversed");
    t.is(atStripe.length, 1, `reversal ${r.id} made once at Stripe`);
    t.is(r.stripe_reversal_id, atStripe[0]?.id ?? null, `reversal ${r.id} holds Stripe's id`);
    t.is(String(atStripe[0]?.amount), r.amount, `reversal ${r.id} amount`);
    t.is(
      (atStripe[0]?.transfer as string | undefined) ?? null,
      r.stripe_transfer_id,
      `reversal ${r.id} is of its transfer`,
    );
  }

  // Money at Stripe per (order, seller) = the seller's share − what its refunds take back.
  const { rows: expected } = await w.pool.query<{
    order_id: string;
    account: string;
    net: string;
  }>(
    `select i.order_id, s.stripe_account_id as account,
            (sum(i.amount - i.platform_fee) - coalesce(max(rt.target), 0))::text as net
     from settle.order_items i
     join settle.sellers s on s.id = i.seller_id
     left join lateral settle_private.refund_targets(i.order_id) rt on rt.seller_id = i.seller_id
     group by i.order_id, s.stripe_account_id`,
  );
  t.is(expected.length, 2 * ORDERS);
  for (const e of expected) {
    const net = w.stripe
      .transfers()
      .filter((tr) => tr.transfer_group === e.order_id && tr.destination === e.account)
      .reduce((sum, tr) => sum + tr.amount - tr.amount_reversed, 0);
    t.is(String(net), e.net, `net at Stripe for order ${e.order_id}, seller ${e.account}`);
  }

  // Each key: one object, and any second request with it answered from the key.
  const transferPosts = w.proxy.exchanges({ method: "POST", path: TRANSFERS });
  const reversalPosts = w.proxy.exchanges({ method: "POST", path: REVERSALS });
  t.deepEqual(keyedPostProblems(transferPosts), []);
  t.deepEqual(keyedPostProblems(reversalPosts), []);
  // Keys are the row ids (no failure happened, so no fresh `<id>:<n>` key either).
  const ids = new Set([...made.map((r) => r.id), ...reversals.map((r) => r.id)]);
  for (const e of [...transferPosts, ...reversalPosts]) {
    t.true(ids.has(e.key ?? ""), `key ${e.key} is a row id`);
  }

  // Both processes did part of the work.
  const byWorker = (key: string) => transferPosts.filter((e) => e.apiKey === key).length;
  t.true(byWorker("sk_test_worker_a") > 0, "worker-a made transfers");
  t.true(byWorker("sk_test_worker_b") > 0, "worker-b made transfers");
  t.log(
    `transfers: ${made.length}; reversals: ${reversals.length}; ` +
      `POSTs by worker-a ${byWorker("sk_test_worker_a")}, worker-b ${byWorker("sk_test_worker_b")}; ` +
      `replays ${[...transferPosts, ...reversalPosts].filter((e) => e.replayed).length}; ` +
      `sweeps that re-enqueued ${(a.output() + b.output()).match(/sweeper gave jobs back/g)?.length ?? 0}; ` +
      `runs that found their row busy ${(a.output() + b.output()).match(/"msg":"Failed task [^"]*locked by another transaction/g)?.length ?? 0}`,
  );

  t.deepEqual(await brokenInvariants(w.pool), []);
  t.false(a.exited() || b.exited(), `both workers still run\n${w.workerTails()}`);
});
