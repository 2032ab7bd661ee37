/**
 * The transfer job against the fake Stripe (SPEC §5, §1.2): made once per key,
 * every failure kind, the look-up before a retry after an unknown outcome, backoff
 * capped at the max, retries used up, only due rows, a locked row.
 */
import test from "ava";
import { makeCreateTransfer } from "../../src/tasks/seller_transfers__create.ts";
import { MINUTE, noHelpers, paidOrder, row, succeededRefund, world } from "./support.ts";

interface TransferRow {
  status: string;
  stripe_transfer_id: string | null;
  retry_count: number;
  next_retry_at: Date | null;
  key_attempt: number;
  outcome_unknown: boolean;
  last_error: string | null;
}

test("makes the transfer: key = row id, transfer_group = order, metadata, completed with the tr_ id", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000, fee: 100 }]);
  const id = o.transferIds[0]!;
  await makeCreateTransfer(w.deps)({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id);
  t.is(r.status, "completed");
  t.regex(r.stripe_transfer_id ?? "", /^tr_/);
  const [made] = w.stripeFake.transfers();
  t.like(made, {
    id: r.stripe_transfer_id,
    amount: 900,
    currency: "eur",
    destination: o.accounts[0],
    transfer_group: o.orderId,
  });
  t.deepEqual(made?.metadata, { order_id: o.orderId, seller_transfer_id: id });
  const [request] = w.stripeFake.requests({ method: "POST", path: "/v1/transfers" });
  t.is(request?.headers["idempotency-key"], id);
  const audit = await w.pool.query(
    "select actor from settle.state_transitions where entity_id = $1 order by id desc limit 1",
    [id],
  );
  t.is(audit.rows[0].actor, "task:seller_transfers__create");
  // A second run finds nothing to do.
  await makeCreateTransfer(w.deps)({ id }, noHelpers);
  t.is(w.stripeFake.transfers().length, 1);
});

test("a retryable failure (429) retries later with the same key and no look-up", async (t) => {
  const w = await world(t);
  const {
    transferIds: [id],
  } = await paidOrder(w, [{ amount: 500 }]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: { kind: "status", status: 429 },
  });
  const task = makeCreateTransfer(w.deps);
  await task({ id }, noHelpers);
  let r = await row<TransferRow>(w, "seller_transfers", id!);
  t.like(r, { status: "failed", retry_count: 1, outcome_unknown: false, key_attempt: 0 });
  t.true(Math.abs((r.next_retry_at?.getTime() ?? 0) - (w.clock.now + MINUTE)) < 1000);
  t.regex(r.last_error ?? "", /stripe retryable .*HTTP 429/);

  await task({ id }, noHelpers);
  t.is(w.stripeFake.requests({ path: "/v1/transfers" }).length, 1, "not due yet: no call");
  w.clock.now += MINUTE;
  await task({ id }, noHelpers);
  r = await row<TransferRow>(w, "seller_transfers", id!);
  t.is(r.status, "completed");
  const keys = w.stripeFake
    .requests({ method: "POST", path: "/v1/transfers" })
    .map((q) => q.headers["idempotency-key"]);
  t.deepEqual(keys, [id, id]);
});

test("an unknown outcome that did happen (500 after commit) is found by the look-up and adopted", async (t) => {
  const w = await world(t);
  const {
    transferIds: [id],
  } = await paidOrder(w, [{ amount: 500 }]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  const task = makeCreateTransfer(w.deps);
  await task({ id }, noHelpers);
  t.like(await row<TransferRow>(w, "seller_transfers", id!), {
    status: "failed",
    outcome_unknown: true,
  });
  w.clock.now += MINUTE;
  await task({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id!);
  t.is(r.status, "completed");
  t.is(r.stripe_transfer_id, w.stripeFake.transfers()[0]?.id ?? null);
  t.is(w.stripeFake.transfers().length, 1, "adopted, never made twice");
  t.is(w.stripeFake.requests({ method: "POST", path: "/v1/transfers" }).length, 1);
});

test("an unknown outcome that did not happen (dropped before) is retried with a fresh key after the look-up", async (t) => {
  const w = await world(t);
  const {
    transferIds: [id],
  } = await paidOrder(w, [{ amount: 500 }]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: { kind: "status", status: 503 },
  });
  const task = makeCreateTransfer(w.deps);
  await task({ id }, noHelpers);
  t.like(await row<TransferRow>(w, "seller_transfers", id!), {
    status: "failed",
    outcome_unknown: true,
    key_attempt: 0,
  });
  w.clock.now += MINUTE;
  await task({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id!);
  t.like(r, { status: "completed", key_attempt: 1, outcome_unknown: false });
  const keys = w.stripeFake
    .requests({ method: "POST", path: "/v1/transfers" })
    .map((q) => q.headers["idempotency-key"]);
  t.deepEqual(keys, [id, `${id}:1`], "Stripe would replay the saved 503 for the first key");
  t.true(
    w.stripeFake.requests({ method: "GET", path: "/v1/transfers" }).length >= 1,
    "looked up first",
  );
});

test("backoff doubles and is capped at the max; retries used up give up", async (t) => {
  const w = await world(t);
  const {
    transferIds: [id],
  } = await paidOrder(w, [{ amount: 500 }]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    times: null,
    fault: { kind: "status", status: 429 },
  });
  const task = makeCreateTransfer(w.deps);
  const delays: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = w.clock.now;
    await task({ id }, noHelpers);
    const r = await row<TransferRow>(w, "seller_transfers", id!);
    delays.push(Math.round(((r.next_retry_at?.getTime() ?? 0) - before) / MINUTE));
    w.clock.now = r.next_retry_at?.getTime() ?? w.clock.now;
  }
  t.deepEqual(delays, [1, 2, 3], "1m, 2m, then capped at 3m (not 4m)");
  await task({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id!);
  t.like(r, { status: "permanently_failed", retry_count: 3 });
  t.regex(r.last_error ?? "", /retries used up \(3\)/);
  t.is(w.stripeFake.requests({ method: "POST", path: "/v1/transfers" }).length, 4);
});

test("a permanent error gives up at once with Stripe's code; balance_insufficient too", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 500 }, { amount: 700 }]);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: {
      kind: "status",
      status: 400,
      body: {
        error: { type: "invalid_request_error", code: "parameter_invalid_integer", message: "bad" },
      },
    },
  });
  await makeCreateTransfer(w.deps)({ id: o.transferIds[0] }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", o.transferIds[0]!);
  t.like(r, { status: "permanently_failed", retry_count: 0 });
  t.regex(r.last_error ?? "", /stripe permanent parameter_invalid_integer HTTP 400/);

  w.stripeFake.setBalance(null, "eur", 100); // the platform's own balance runs short
  await makeCreateTransfer(w.deps)({ id: o.transferIds[1] }, noHelpers);
  t.regex(
    (await row<TransferRow>(w, "seller_transfers", o.transferIds[1]!)).last_error ?? "",
    /balance_insufficient/,
  );
});

test("a row held by another transaction is not touched: the run fails, to be retried", async (t) => {
  const w = await world(t);
  const {
    transferIds: [id],
  } = await paidOrder(w, [{ amount: 500 }]);
  const holder = await w.pool.connect();
  try {
    await holder.query("begin");
    await holder.query("select 1 from settle.seller_transfers where id = $1 for no key update", [
      id,
    ]);
    await t.throwsAsync(async () => makeCreateTransfer(w.deps)({ id }, noHelpers), {
      name: "RowBusy",
    });
    await holder.query("rollback");
  } finally {
    holder.release();
  }
  t.is(w.stripeFake.requests({ path: "/v1/transfers" }).length, 0);
});

test("bad payloads are refused before anything happens", async (t) => {
  const w = await world(t);
  await t.throwsAsync(async () => makeCreateTransfer(w.deps)({ id: "not-a-uuid" }, noHelpers));
  await t.throwsAsync(async () => makeCreateTransfer(w.deps)({}, noHelpers));
  t.is(w.stripeFake.requests().length, 0);
});

test("retries used up on an unknown outcome: the row says Stripe may have made it, and a refund reverses it instead of cancelling it", async (t) => {
  // Found by `npm run chaos` (fault rate 0.5): the last attempt's 500 came after
  // Stripe made the transfer, the row gave up saying nothing of it, and a refund
  // then cancelled a transfer that Stripe had made: money left at the seller.
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 500 }]);
  const id = o.transferIds[0]!;
  const task = makeCreateTransfer(w.deps);
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    times: 3,
    fault: { kind: "status", status: 429 },
  });
  for (let attempt = 0; attempt < 3; attempt++) {
    await task({ id }, noHelpers);
    const r = await row<TransferRow>(w, "seller_transfers", id);
    w.clock.now = r.next_retry_at?.getTime() ?? w.clock.now;
  }
  w.stripeFake.inject({
    method: "POST",
    path: "/v1/transfers",
    fault: { kind: "status", status: 500, afterCommit: true },
  });
  await task({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id);
  t.like(r, { status: "permanently_failed", outcome_unknown: true });
  t.is(w.stripeFake.transfers().length, 1, "Stripe made it");

  await succeededRefund(w.pool, o.orderId, 500);
  t.is(
    (await row<TransferRow>(w, "seller_transfers", id)).status,
    "permanently_failed",
    "not cancelled: Stripe may hold it",
  );
  const reversals = await w.pool.query(
    "select amount::int from settle.transfer_reversals where seller_transfer_id = $1",
    [id],
  );
  t.deepEqual(reversals.rows, [{ amount: 500 }], "the refund takes it back by a reversal");
});

test("a run that crashed after its call, run again past Stripe's key window: looked up and adopted, not made twice", async (t) => {
  const w = await world(t);
  const o = await paidOrder(w, [{ amount: 1000, fee: 100 }]);
  const id = o.transferIds[0]!;
  // The crashed run's call: made at Stripe under the row's key, nothing recorded.
  const made = await w.deps.stripe.createTransfer(id, {
    amount: 900,
    currency: "EUR",
    destination: o.accounts[0]!,
    transferGroup: o.orderId,
    metadata: { order_id: o.orderId, seller_transfer_id: id },
  });
  t.like(await row<TransferRow>(w, "seller_transfers", id), {
    status: "pending",
    retry_count: 0,
    outcome_unknown: false,
  });
  // A day later Stripe has forgotten the key: the same key would make a second transfer.
  w.stripeFake.clock.advance(25 * 60 * MINUTE);
  w.clock.now += 25 * 60 * MINUTE;
  await makeCreateTransfer(w.deps)({ id }, noHelpers);
  const r = await row<TransferRow>(w, "seller_transfers", id);
  t.like(r, { status: "completed", stripe_transfer_id: made });
  t.is(w.stripeFake.transfers().length, 1);
  t.is(w.stripeFake.requests({ method: "POST", path: "/v1/transfers" }).length, 1);
});
