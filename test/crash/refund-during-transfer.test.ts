/**
 * A refund webhook applied while a transfer of the same order is inside its
 * Stripe call (real worker process, real fakes). SPEC §5: "Transfers not yet made
 * are cancelled (or their amount reduced) instead of reversed"; a transfer being
 * made is held FOR NO KEY UPDATE exactly so that the refund waits to learn whether
 * it was made, and then reverses it.
 *
 * Found by this test: apply_refund_succeeded locks the order, then (take_back)
 * the transfer rows; the transfer job holds its transfer row, and its COMMIT used
 * to run the deferred money check, which locked the order. PostgreSQL broke the
 * lock-order inversion by aborting the transfer job's COMMIT: Stripe had made the
 * transfer, our record of it was rolled back, and the refund then cancelled the
 * row. Migration 000026 runs the money checks only on changes that can grow the
 * sums, so finishing a transfer takes no order lock.
 *
 * What makes it fail: the row `cancelled` without a Stripe id while Stripe holds
 * its transfer, no reversal, Stripe's net for the seller not 0 after a full
 * refund, a deadlock counted in pg_stat_database.
 */
import test from "ava";
import {
  brokenInvariants,
  crashWorld,
  makeOrder,
  refundViaWebhook,
  rowLocked,
  stripeTransfersOf,
  until,
} from "./support.ts";

test("a full refund applied while the transfer is in its Stripe call reverses it", async (t) => {
  t.timeout(60_000);
  const w = await crashWorld(t);
  const explain = async () =>
    `${JSON.stringify(
      (
        await w.pool.query(
          "select id, status, stripe_transfer_id, last_error from settle.seller_transfers",
        )
      ).rows,
    )}\n${w.workerTails()}`;
  const o = await makeOrder(w.pool, [{ amount: 5_000, fee: 500 }]);
  const id = o.transferIds[0]!;
  w.stripe.inject({ method: "POST", path: "/v1/transfers", fault: { kind: "latency", ms: 5_000 } });
  const worker = await w.startWorker("worker-1");
  await until(
    "the transfer request to reach Stripe",
    () => w.stripe.requests({ method: "POST", path: "/v1/transfers" }).length === 1,
    { explain },
  );
  t.true(await rowLocked(w.pool, "seller_transfers", id), "the transfer job holds its row");

  // The buyer's refund succeeds at the PSP; its webhook is applied by the worker.
  const refundId = await refundViaWebhook(w.pool, o, o.total);
  await until(
    "the refund's application to wait for the transfer row",
    async () =>
      (
        await w.pool.query(
          "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        )
      ).rowCount! > 0,
    { timeoutMs: 10_000, explain },
  );
  await until(
    "the refund to be applied and nothing left moving",
    async () => {
      const { rows } = await w.pool.query(
        `select (select status from settle.refunds where id = $1) as refund,
                (select count(*)::int from settle.seller_transfers where status in ('pending', 'failed')) as transfers,
                (select count(*)::int from settle.transfer_reversals where status = 'pending') as reversals`,
        [refundId],
      );
      return rows[0].refund === "succeeded" && rows[0].transfers === 0 && rows[0].reversals === 0;
    },
    { timeoutMs: 30_000, explain },
  );

  const [made] = stripeTransfersOf(w.stripe, id);
  const { rows } = await w.pool.query(
    "select status, stripe_transfer_id, last_error from settle.seller_transfers where id = $1",
    [id],
  );
  // slonik re-runs a transaction that failed with 40xxx (transactionRetryLimit), so
  // the deadlock shows in the database's statistics, not in the worker's log.
  await w.pool.query("select pg_stat_force_next_flush()");
  const { rows: stats } = await w.pool.query(
    "select deadlocks::int from pg_stat_database where datname = current_database()",
  );
  t.log(
    `transfer row: ${JSON.stringify(rows[0])}; at Stripe: ${made?.id} (${made?.amount}, reversed ${made?.amount_reversed}); ` +
      `deadlocks: ${stats[0]?.deadlocks}; runs that found the row busy: ${worker.output().match(/"msg":"Failed task [^"]*locked by another transaction/g)?.length ?? 0}`,
  );
  t.truthy(made, "Stripe made the transfer (the request reached it)");
  t.like(rows[0], { status: "reversed", stripe_transfer_id: made?.id ?? "" });
  t.is(made ? made.amount - made.amount_reversed : null, 0, "the seller gave back the whole share");
  t.is(stats[0]?.deadlocks, 0, "no transaction was aborted by a deadlock");
  t.deepEqual(await brokenInvariants(w.pool), []);
});
