/**
 * The reversal job's paths (SPEC §5, issue 4 item 4), each against the fake Stripe:
 * happy path; already reversed (adopted, logged); transfer not found; the seller's
 * balance too low (a seller debt); transient 429/5xx/timeouts with backoff capped at
 * the max; retries used up; no Stripe id (Stripe never called); only due rows.
 */
import test from "ava";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { makeReverseTransfer } from "../../src/tasks/transfer_reversals__reverse.ts";
import {
  MINUTE,
  noHelpers,
  type PaidOrder,
  paidOrder,
  row,
  succeededRefund,
  type World,
  world,
} from "./support.ts";

interface ReversalRow {
  status: string;
  stripe_reversal_id: string | null;
  retry_count: number;
  next_retry_at: Date | null;
  key_attempt: number;
  outcome_unknown: boolean;
  last_error: string | null;
}

/** A paid order whose transfer was made, then a succeeded refund: its reversal row (pending). */
async function reversalFor(
  w: World,
  amount = 1000,
  refund = 400,
): Promise<{ o: PaidOrder; reversalId: string }> {
  const o = await paidOrder(w, [{ amount }]);
  await makeCreateTransfer(w.deps)({ id: o.transferIds[0] }, noHelpers);
  const { reversalIds } = await succeededRefund(w.pool, o.orderId, refund);
  return { o, reversalId: reversalIds[0]! };
}

const reversalsAtStripe = (w: World) =>
  w.stripeFake.requests({ method: "POST", path: /^\/v1\/transfers\/[^/]+\/reversals$/ });

test("reverses: key = row id, metadata names the refund and the row; the transfer follows", async (t) => {
  const w = await world(t);
  const { o, reversalId } = await reversalFor(w);
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "reversed");
  t.regex(r.stripe_reversal_id ?? "", /^trr_/);
  const [request] = reversalsAtStripe(w);
  t.is(request?.headers["idempotency-key"], reversalId);
  t.regex(
    decodeURIComponent(request?.body ?? ""),
    new RegExp(`metadata\\[transfer_reversal_id\\]=${reversalId}`),
  );
  const transfer = await row<{ status: string }>(w, "seller_transfers", o.transferIds[0]!);
  t.is(transfer.status, "partially_reversed");
  t.is(w.stripeFake.transfers()[0]?.amount_reversed, 400);
});

test("a transfer without a Stripe id fails the reversal without calling Stripe", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w);
  // As a legacy row would be: made elsewhere, id never recorded.
  await w.pool.query(
    `update settle.transfer_reversals set seller_transfer_id = (
       select id from settle.seller_transfers where status = 'completed' limit 1) where id = $1`,
    [reversalId],
  );
  const legacy = await paidOrder(w, [{ amount: 300 }]);
  await w.pool.query("update settle.seller_transfers set status = 'cancelled' where id = $1", [
    legacy.transferIds[0],
  ]);
  const { rows } = await w.pool.query(
    `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
     values ($1, $2, 300, 'EUR', 'completed', true) returning id`,
    [legacy.orderId, legacy.sellerIds[0]],
  );
  const refund = await w.pool.query(
    "insert into settle.refunds (order_id, amount) values ($1, 300) returning id",
    [legacy.orderId],
  );
  await w.pool.query("update settle.refunds set status = 'succeeded' where id = $1", [
    refund.rows[0].id,
  ]);
  const rev = await w.pool.query(
    "insert into settle.transfer_reversals (seller_transfer_id, refund_id, amount) values ($1, $2, 300) returning id",
    [rows[0].id, refund.rows[0].id],
  );
  const before = reversalsAtStripe(w).length;
  await makeReverseTransfer(w.deps)({ id: rev.rows[0].id }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", rev.rows[0].id);
  t.is(r.status, "permanently_failed");
  t.regex(r.last_error ?? "", /has no Stripe id/);
  t.is(reversalsAtStripe(w).length, before, "Stripe was not called");
});

test("already reversed by our earlier call (answer lost): the matching reversal is adopted", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w, 1000, 1000);
  // The full reversal happens at Stripe but we get a 500 (saved for the key, so the
  // same key would only replay it); the fresh-key retry is then refused for lack of room.
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  const task = makeReverseTransfer(w.deps);
  await task({ id: reversalId }, noHelpers);
  t.like(await row<ReversalRow>(w, "transfer_reversals", reversalId), {
    status: "pending",
    outcome_unknown: true,
  });
  // The look-up is made to miss (listing fails once), so the retry goes out with a fresh key.
  w.clock.now += MINUTE;
  w.stripeFake.inject({
    method: "GET",
    path: "/v1/transfers/[^/]+/reversals",
    fault: { kind: "status", status: 503 },
  });
  await task({ id: reversalId }, noHelpers);
  w.clock.now += 2 * MINUTE;
  await task({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "reversed");
  const [stripeReversal] = w.stripeFake.transfers()[0]?.reversals.data ?? [];
  t.is(r.stripe_reversal_id, stripeReversal?.id ?? null);
  t.is(w.stripeFake.transfers()[0]?.reversals.data.length, 1, "one reversal at Stripe");
});

test("a refused reversal whose room was taken by someone else's reversal fails, explained", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w, 1000, 1000);
  const transferId = w.stripeFake.transfers()[0]!.id;
  // Someone reverses the whole transfer in the Stripe dashboard first.
  await fetch(`${w.stripeFake.url}/v1/transfers/${transferId}/reversals`, {
    method: "POST",
    headers: {
      authorization: "Bearer sk_test_dashboard",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "",
  });
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "permanently_failed");
  t.regex(r.last_error ?? "", /has no room left .* no reversal of it is ours/);
});

test("transfer not found (404 resource_missing) gives up", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    fault: {
      kind: "status",
      status: 404,
      body: {
        error: {
          type: "invalid_request_error",
          code: "resource_missing",
          param: "id",
          message: "No such transfer",
        },
      },
    },
  });
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "permanently_failed");
  t.regex(r.last_error ?? "", /resource_missing/);
});

test("the seller's balance too low: permanently_failed, recorded as a seller debt", async (t) => {
  const w = await world(t);
  const { o, reversalId } = await reversalFor(w);
  w.stripeFake.setBalance(o.accounts[0]!, "eur", 100);
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "permanently_failed");
  t.regex(r.last_error ?? "", /^balance_insufficient: /);
});

test("transient failures retry pending -> pending with backoff capped at the max, then give up", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w);
  const faults = [
    { kind: "status", status: 429 },
    { kind: "status", status: 500 },
    { kind: "timeout" },
  ] as const;
  const task = makeReverseTransfer({ ...w.deps, stripe: w.deps.stripe });
  const delays: number[] = [];
  for (const fault of faults) {
    w.stripeFake.inject({ method: "POST", path: "/v1/transfers/[^/]+/reversals", fault });
    const before = w.clock.now;
    await task({ id: reversalId }, noHelpers);
    const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
    t.is(r.status, "pending");
    delays.push(Math.round(((r.next_retry_at?.getTime() ?? 0) - before) / MINUTE));
    w.clock.now = r.next_retry_at?.getTime() ?? w.clock.now;
    // An unknown outcome is looked up before the next call; make the look-up miss quickly.
  }
  t.deepEqual(delays, [1, 2, 3]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    fault: { kind: "status", status: 503 },
  });
  await task({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "permanently_failed");
  t.regex(r.last_error ?? "", /retries used up \(3\)/);
  const audit = await w.pool.query(
    "select from_status, to_status from settle.state_transitions where entity_id = $1 order by id",
    [reversalId],
  );
  t.deepEqual(
    audit.rows.map((a) => `${a.from_status}->${a.to_status}`),
    [
      "null->pending",
      "pending->pending",
      "pending->pending",
      "pending->pending",
      "pending->permanently_failed",
    ],
  );
});

test("only due rows are taken; REVERSAL flag rows wait while reversals are paused", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w);
  await w.pool.query(
    "update settle.transfer_reversals set next_retry_at = now() + interval '1 hour' where id = $1",
    [reversalId],
  );
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  t.is(reversalsAtStripe(w).length, 0);
  t.is((await row<ReversalRow>(w, "transfer_reversals", reversalId)).status, "pending");
  const { rows } = await w.pool.query("select flags from graphile_worker.jobs where key = $1", [
    `transfer_reversals:${reversalId}`,
  ]);
  t.deepEqual(rows[0].flags, { reversals: true });
});

test("a refund applied while its transfer's outcome is unknown: the reversal waits for the transfer, then reverses", async (t) => {
  // Found by `npm run chaos`: the reversal gave up at once ("no Stripe id"), and the
  // transfer, adopted a moment later, left the refunded money at the seller.
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000 }]);
  const transferId = o.transferIds[0]!;
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  await makeCreateTransfer(w.deps)({ id: transferId }, noHelpers);
  const transfer = await row<{ status: string; outcome_unknown: boolean; next_retry_at: Date }>(
    w,
    "seller_transfers",
    transferId,
  );
  t.is(transfer.status, "failed");
  t.true(transfer.outcome_unknown, "Stripe made it, the answer was a 500");

  const reversalId = (await succeededRefund(w.pool, o.orderId, 400)).reversalIds[0]!;

  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  let r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "pending", r.last_error ?? "");
  t.is(r.retry_count, 0, "waiting for the transfer spends no retry");
  t.true((r.next_retry_at?.getTime() ?? 0) > transfer.next_retry_at.getTime());
  t.regex(r.last_error ?? "", /waiting for its transfer/);
  t.is(reversalsAtStripe(w).length, 0);

  w.clock.now = transfer.next_retry_at.getTime();
  await makeCreateTransfer(w.deps)({ id: transferId }, noHelpers);
  t.is((await row<{ status: string }>(w, "seller_transfers", transferId)).status, "completed");

  w.clock.now = r.next_retry_at?.getTime() ?? w.clock.now;
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.is(r.status, "reversed");
  t.is(w.stripeFake.transfers().length, 1, "the transfer was adopted, not made twice");
  t.is(w.stripeFake.transfers()[0]?.amount_reversed, 400);
});

test("retries used up on an unknown outcome: the reversal keeps outcome_unknown for whoever retries it", async (t) => {
  const w = await world(t);
  const { reversalId } = await reversalFor(w);
  const task = makeReverseTransfer(w.deps);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    times: 3,
    fault: { kind: "status", status: 429 },
  });
  for (let attempt = 0; attempt < 3; attempt++) {
    await task({ id: reversalId }, noHelpers);
    const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
    w.clock.now = r.next_retry_at?.getTime() ?? w.clock.now;
  }
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers/[^/]+/reversals",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  await task({ id: reversalId }, noHelpers);
  const r = await row<ReversalRow>(w, "transfer_reversals", reversalId);
  t.like(r, { status: "permanently_failed", outcome_unknown: true });
  t.is(w.stripeFake.transfers()[0]?.amount_reversed, 400, "Stripe made it");
});

test("a run that crashed after its call, run again past Stripe's key window: looked up and adopted, not reversed twice", async (t) => {
  const w = await world(t);
  const { o, reversalId } = await reversalFor(w);
  const transfer = await row<{ stripe_transfer_id: string }>(
    w,
    "seller_transfers",
    o.transferIds[0]!,
  );
  const refund = await row<{ refund_id: string }>(w, "transfer_reversals", reversalId);
  // The crashed run's call: made at Stripe under the row's key, nothing recorded.
  const made = await w.deps.stripe.reverseTransfer(reversalId, transfer.stripe_transfer_id, 400, {
    transfer_reversal_id: reversalId,
    refund_id: refund.refund_id,
  });
  // A day later Stripe has forgotten the key: the same key would reverse 400 more.
  w.stripeFake.clock.advance(25 * 60 * MINUTE);
  w.clock.now += 25 * 60 * MINUTE;
  await makeReverseTransfer(w.deps)({ id: reversalId }, noHelpers);
  t.like(await row<ReversalRow>(w, "transfer_reversals", reversalId), {
    status: "reversed",
    stripe_reversal_id: made,
  });
  t.is(reversalsAtStripe(w).length, 1);
  t.is(w.stripeFake.transfers()[0]?.amount_reversed, 400);
});
