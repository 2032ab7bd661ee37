/**
 * `npx settle reconcile` against a test database and the fake Stripe. Books that
 * agree (two transfers, a paid payout, a legacy row still awaiting its backfill)
 * give no mismatch and exit 0, and the clean run is stored. Then one crafted
 * divergence per kind: a transfer and a reversal made at Stripe with no row of
 * ours (missing_here, which also leaves our transfer's status behind Stripe's),
 * a completed row whose Stripe id the fake never made (missing_there), a transfer
 * for another amount (amount_differs), a payout Stripe failed after we recorded
 * it paid (status_differs): stored under one run, shown by the view, exit 3. A
 * re-run adds a run; the view shows only the latest.
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

test("reconcile --help documents the exit codes; a bad --since exits 2; no Stripe credentials exits 1", async (t) => {
  const w = await world(t);
  const help = await settle(w, ["reconcile", "--help"]);
  t.is(help.code, 0);
  t.regex(help.output, /--since <when>/);
  t.regex(help.output, /3 mismatches found/);
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
  t.regex(bare.output, /reconcile needs the Stripe credentials/);
  t.is((await w.pool.query("select 1 from settle.reconciliation_runs")).rowCount, 0);
});
