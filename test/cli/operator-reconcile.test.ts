/**
 * `npx settle reconcile` against a test database and the fake Stripe. Books that
 * agree (two transfers, a paid payout, a legacy row still awaiting its backfill)
 * give no mismatch and exit 0, and the clean run is stored. Then one crafted
 * divergence per kind: a transfer and a reversal made at Stripe with no row of
 * ours (missing_here, which also leaves our transfer's status behind Stripe's),
 * a completed row whose Stripe id the fake never made (missing_there), a transfer
 * for another amount (amount_differs), a payout Stripe failed after we recorded
 * it paid (status_differs): stored under one run, shown by the view, exit 3. A
 * re-run adds a run; the view shows only the latest. Then rows lacking their Stripe
 * id: paired by our id in the metadata or, as the backfill does, by order and
 * seller (ambiguous when two rows qualify); and reversals that differ in amount, or
 * that we gave up on while Stripe made them.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import Stripe from "stripe";
import {
  type LegacyTransfer,
  legacyTransfers,
  settle,
  type World,
  world,
} from "./operator-support.ts";

function sdk(w: World): Stripe {
  return new Stripe("sk_test_operator_cli", {
    host: "127.0.0.1",
    port: Number(new URL(w.stripe.url).port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
}

/** The row's transfer made at Stripe (for `amount`) and its id recorded on the row. */
async function made(w: World, row: LegacyTransfer, amount = row.amount): Promise<string> {
  const transfer = await sdk(w).transfers.create({
    amount,
    currency: "eur",
    destination: row.account,
    transfer_group: row.orderId,
    metadata: { order_id: row.orderId, seller_transfer_id: row.id },
  });
  await setTransferId(w, row.id, transfer.id);
  return transfer.id;
}

async function setTransferId(w: World, id: string, transferId: string): Promise<void> {
  await w.pool.query("update settle.seller_transfers set stripe_transfer_id = $2 where id = $1", [
    id,
    transferId,
  ]);
}

/** A payout made at Stripe and paid, recorded as paid here. */
async function paidPayout(w: World, row: LegacyTransfer): Promise<{ id: string; po: string }> {
  const id = randomUUID();
  w.stripe.setBalance(row.account, "eur", 1_000_000);
  const payout = await sdk(w).payouts.create(
    { amount: 500, currency: "eur", metadata: { seller_payout_id: id } },
    { stripeAccount: row.account },
  );
  w.stripe.settlePayout(payout.id, "paid");
  await w.pool.query(
    `insert into settle.seller_payouts (id, seller_id, amount, currency, external_payout_id)
     select $1, s.id, 500, 'EUR', $2 from settle.sellers s where s.stripe_account_id = $3`,
    [id, payout.id, row.account],
  );
  await w.pool.query("update settle.seller_payouts set status = 'paid' where id = $1", [id]);
  return { id, po: payout.id };
}

interface ViewRow {
  run_id: string;
  kind: string;
  entity: string;
  entity_id: string | null;
  psp_id: string | null;
}

const view = async (w: World) =>
  (
    await w.pool.query<ViewRow>(
      "select run_id, kind, entity, entity_id, psp_id from ops.reconciliation_mismatches",
    )
  ).rows;
const key = (r: Omit<ViewRow, "run_id">) =>
  `${r.kind} ${r.entity} ${r.entity_id ?? "-"} ${r.psp_id ?? "-"}`;

test("reconcile: clean books exit 0; each kind of divergence is stored and shown, exit 3", async (t) => {
  t.timeout(120_000);
  const w = await world(t);
  const [a, b, awaitingBackfill] = await legacyTransfers(w.pool, 3);
  if (!a || !b || !awaitingBackfill) throw new Error("three legacy transfers expected");
  const aTransfer = await made(w, a);
  await made(w, b);
  const payout = await paidPayout(w, a);

  const clean = await settle(w, ["reconcile"]);
  t.is(clean.code, 0, clean.output);
  t.regex(clean.output, /^stripe seller_transfers: \d+ ours, 2 theirs, 0 mismatch\(es\)$/m);
  t.regex(clean.output, /^stripe seller_payouts: 1 ours, 1 theirs, 0 mismatch\(es\)$/m);
  t.regex(clean.output, /^run [0-9a-f-]{36}: no mismatches$/m);
  t.regex(
    clean.output,
    /^hyperswitch skipped: HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY are not set/m,
  );
  t.deepEqual(await view(w), []);
  t.is((await w.pool.query("select 1 from settle.reconciliation_runs")).rowCount, 1);

  // missing_here: a transfer nobody recorded, and a reversal of a's transfer.
  const stray = await sdk(w).transfers.create({
    amount: 777,
    currency: "eur",
    destination: a.account,
    metadata: { note: "made by hand" },
  });
  const reversal = await sdk(w).transfers.createReversal(aTransfer, { amount: 10 });
  // missing_there: a completed row whose Stripe id the fake never made.
  const [ghost, short] = await legacyTransfers(w.pool, 2);
  if (!ghost || !short) throw new Error("two legacy transfers expected");
  await setTransferId(w, ghost.id, "tr_madeup0000000000000000");
  // amount_differs: Stripe's transfer is one unit more than our row.
  const shortTransfer = await made(w, short, short.amount + 1);
  // status_differs: the bank failed the payout after Stripe said paid.
  w.stripe.settlePayout(payout.po, "failed");

  const found = await settle(w, ["reconcile", "--since", "1d"]);
  t.is(found.code, 3, found.output);
  const expected = [
    { kind: "missing_here", entity: "seller_transfers", entity_id: null, psp_id: stray.id },
    { kind: "status_differs", entity: "seller_transfers", entity_id: a.id, psp_id: aTransfer },
    { kind: "missing_here", entity: "transfer_reversals", entity_id: null, psp_id: reversal.id },
    {
      kind: "missing_there",
      entity: "seller_transfers",
      entity_id: ghost.id,
      psp_id: "tr_madeup0000000000000000",
    },
    {
      kind: "amount_differs",
      entity: "seller_transfers",
      entity_id: short.id,
      psp_id: shortTransfer,
    },
    { kind: "status_differs", entity: "seller_payouts", entity_id: payout.id, psp_id: payout.po },
  ].map(key);
  const rows = await view(w);
  t.deepEqual(rows.map(key).sort(), [...expected].sort());
  t.is(new Set(rows.map((r) => r.run_id)).size, 1, "one run");
  t.regex(found.output, /^stripe seller_transfers: \d+ ours, 4 theirs, 4 mismatch\(es\) \(/m);
  t.regex(
    found.output,
    /^missing_there stripe seller_transfers row [0-9a-f-]+ \/ tr_madeup\w+: ours completed with tr_madeup\w+, Stripe has no such transfer$/m,
  );
  t.regex(found.output, /^status_differs stripe seller_payouts .*: ours paid, Stripe failed$/m);
  t.regex(
    found.output,
    /^run [0-9a-f-]{36}: 6 mismatch\(es\), all in ops.reconciliation_mismatches$/m,
  );

  const again = await settle(w, ["reconcile", "--since", "1d"]);
  t.is(again.code, 3, again.output);
  const latest = await view(w);
  t.deepEqual(latest.map(key).sort(), [...expected].sort());
  t.not(latest[0]?.run_id, rows[0]?.run_id, "the view shows the new run");
  const stored = await w.pool.query(
    "select count(*)::int as n from settle.reconciliation_mismatches",
  );
  t.is(stored.rows[0]?.n, 12, "both runs kept");
  t.is((await w.pool.query("select 1 from settle.reconciliation_runs")).rowCount, 3);
});

test("reconcile --help documents the exit codes; a bad --since exits 2; no PSP credentials exits 1", async (t) => {
  const w = await world(t);
  const help = await settle(w, ["reconcile", "--help"]);
  t.is(help.code, 0);
  t.regex(help.output, /--since <when>/);
  t.regex(help.output, /3 mismatches found/);
  t.regex(help.output, /Hyperswitch payments .* and refunds/);
  // Invoice payments are compared (reconcile-invoices.ts), not merely counted.
  t.regex(
    help.output,
    /Payments of subscription invoices \([^)]*\) are\s+compared with subscription_invoices/,
  );
  t.notRegex(help.output, /not compared yet/);
  for (const since of ["yesterday", "2999-01-01", "7"]) {
    const bad = await settle(w, ["reconcile", "--since", since]);
    t.is(bad.code, 2, bad.output);
    t.regex(bad.output, /expected an ISO date in the past or a duration/);
  }
  const bare = await settle(w, ["reconcile"], {
    STRIPE_SECRET_KEY: undefined,
    STRIPE_API_BASE: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  });
  t.is(bare.code, 1, bare.output);
  t.regex(bare.output, /reconcile needs the API credentials of at least one PSP/);
  t.is((await w.pool.query("select 1 from settle.reconciliation_runs")).rowCount, 0);
});

/** A legacy order of one seller with `n` transfers lacking their Stripe id, splitting its share. */
async function splitLegacyOrder(w: World, account: string, n: number): Promise<LegacyTransfer[]> {
  const client = await w.pool.connect();
  try {
    await client.query("begin");
    const order = await client.query<{ id: string; seller_id: string }>(
      `with s as (select id from settle.sellers where stripe_account_id = $1)
       insert into settle.orders (buyer_id, currency, total_amount)
       select (select id from settle.buyers limit 1), 'EUR', $2 returning id, (select id from s) as seller_id`,
      [account, 1_000 * n + 100],
    );
    const { id: orderId, seller_id: sellerId } = order.rows[0] as { id: string; seller_id: string };
    await client.query(
      "insert into settle.order_items (order_id, seller_id, amount, platform_fee) values ($1, $2, $3, 100)",
      [orderId, sellerId, 1_000 * n + 100],
    );
    const rows = await client.query<{ id: string }>(
      `insert into settle.seller_transfers (order_id, seller_id, amount, currency, status, legacy_import)
       select $1, $2, 1000, 'EUR', 'completed', true from generate_series(1, $3) returning id`,
      [orderId, sellerId, n],
    );
    await client.query("commit");
    return rows.rows.map((r) => ({ id: r.id, orderId, account, amount: 1_000 }));
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

/** A succeeded refund of the order, so that reversals of its transfers fit the books. */
async function succeededRefund(w: World, orderId: string, amount: number): Promise<string> {
  const row = await w.pool.query<{ id: string }>(
    "insert into settle.refunds (order_id, amount) values ($1, $2) returning id",
    [orderId, amount],
  );
  const id = row.rows[0]?.id as string;
  await w.pool.query("update settle.refunds set status = 'succeeded' where id = $1", [id]);
  return id;
}

async function reversalRow(w: World, transferId: string, refundId: string, amount: number) {
  const row = await w.pool.query<{ id: string }>(
    "insert into settle.transfer_reversals (seller_transfer_id, refund_id, amount) values ($1, $2, $3) returning id",
    [transferId, refundId, amount],
  );
  return row.rows[0]?.id as string;
}

test("reconcile: a transfer row lacking its Stripe id is paired by metadata or by order and seller; reversals differ in amount and status", async (t) => {
  t.timeout(120_000);
  const w = await world(t);
  const [byOurId, byOrder, short, reversed] = await legacyTransfers(w.pool, 4);
  if (!byOurId || !byOrder || !short || !reversed)
    throw new Error("four legacy transfers expected");
  // Two rows of one order and seller lack their id: a transfer cannot be told apart.
  const split = await splitLegacyOrder(w, byOrder.account, 2);
  // Imported before the window: only the Stripe transfers are in it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const since = new Date().toISOString();
  const transfer = (row: LegacyTransfer, amount: number, metadata: Record<string, string>) =>
    sdk(w).transfers.create({
      amount,
      currency: "eur",
      destination: row.account,
      transfer_group: row.orderId,
      metadata,
    });
  // Our id in the metadata; only the order's (as the older system made them); one unit more.
  await transfer(byOurId, byOurId.amount, {
    order_id: byOurId.orderId,
    seller_transfer_id: byOurId.id,
  });
  await transfer(byOrder, byOrder.amount, { order_id: byOrder.orderId });
  const shortTransfer = await transfer(short, short.amount + 1, { order_id: short.orderId });
  const splitTransfer = await transfer(split[0] as LegacyTransfer, 1_000, {
    order_id: split[0]?.orderId as string,
  });

  // Reversals of a made transfer: one recorded for 10 that Stripe made for 12, one we
  // gave up on (permanently_failed) that Stripe did make.
  const trId = await made(w, reversed);
  const refundId = await succeededRefund(w, reversed.orderId, 100);
  const tenHere = await reversalRow(w, reversed.id, refundId, 10);
  const twelveThere = await sdk(w).transfers.createReversal(trId, {
    amount: 12,
    metadata: { refund_id: refundId, transfer_reversal_id: tenHere },
  });
  await w.pool.query(
    "update settle.transfer_reversals set status = 'reversed', stripe_reversal_id = $2 where id = $1",
    [tenHere, twelveThere.id],
  );
  const givenUp = await reversalRow(w, reversed.id, refundId, 5);
  await w.pool.query(
    "update settle.transfer_reversals set status = 'permanently_failed' where id = $1",
    [givenUp],
  );
  const madeAnyway = await sdk(w).transfers.createReversal(trId, {
    amount: 5,
    metadata: { refund_id: refundId, transfer_reversal_id: givenUp },
  });

  const found = await settle(w, ["reconcile", "--since", since]);
  t.is(found.code, 3, found.output);
  const rows = await view(w);
  const expected = [
    {
      kind: "amount_differs",
      entity: "seller_transfers",
      entity_id: short.id,
      psp_id: shortTransfer.id,
    },
    { kind: "missing_here", entity: "seller_transfers", entity_id: null, psp_id: splitTransfer.id },
    {
      kind: "amount_differs",
      entity: "transfer_reversals",
      entity_id: tenHere,
      psp_id: twelveThere.id,
    },
    {
      kind: "status_differs",
      entity: "transfer_reversals",
      entity_id: givenUp,
      psp_id: madeAnyway.id,
    },
  ].map(key);
  t.deepEqual(rows.map(key).sort(), [...expected].sort(), found.output);
  t.regex(
    found.output,
    /^amount_differs stripe transfer_reversals .*: ours 10 EUR, theirs 12 EUR$/m,
  );
  t.regex(
    found.output,
    /^status_differs stripe transfer_reversals .*: ours permanently_failed, Stripe reversed$/m,
  );
  t.regex(
    found.output,
    /has no row here of its own: 2 rows of that order and seller lack their Stripe id/,
  );
});
