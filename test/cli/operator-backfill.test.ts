/**
 * `npx settle backfill-transfer-ids` on 300 legacy transfers against the fake
 * Stripe: most have exactly one matching transfer; some have none (never made,
 * or made for another amount); one has two (ambiguous); one matches a transfer
 * another row already holds; one sits behind a page of 120 decoys in its
 * transfer group (the list is paged by 100). The dry run changes nothing and
 * reports the matches; the real run fills exactly those, audited; a re-run finds
 * nothing left to do. It needs the Stripe key (and API base) only, not the server's
 * JWT and webhook secrets; without the key it refuses, naming it.
 */
import test from "ava";
import Stripe from "stripe";
import { type LegacyTransfer, legacyTransfers, settle, world } from "./operator-support.ts";

const ROWS = 300;

test("backfill-transfer-ids: dry run, real run, re-run", async (t) => {
  t.timeout(240_000);
  const w = await world(t);
  const rows = await legacyTransfers(w.pool, ROWS);
  const stripe = new Stripe("sk_test_operator_cli", {
    host: "127.0.0.1",
    port: Number(new URL(w.stripe.url).port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
  const transfer = (row: LegacyTransfer, amount = row.amount, orderId = row.orderId) =>
    stripe.transfers.create({
      amount,
      currency: "eur",
      destination: row.account,
      transfer_group: row.orderId,
      metadata: { order_id: orderId },
    });

  const [neverMade, wrongAmount, ambiguous, taken, paged] = [
    rows.slice(0, 5),
    rows[5] as LegacyTransfer,
    rows[6] as LegacyTransfer,
    rows[7] as LegacyTransfer,
    rows[8] as LegacyTransfer,
  ];
  const expected = new Map<string, string>();
  await transfer(wrongAmount, wrongAmount.amount + 1);
  await transfer(ambiguous);
  await transfer(ambiguous);
  // Another (already repaired) legacy row holds the transfer this row would match.
  const takenId = (await transfer(taken)).id;
  const [holder] = await legacyTransfers(w.pool, 1);
  await w.pool.query("update settle.seller_transfers set stripe_transfer_id = $2 where id = $1", [
    holder?.id,
    takenId,
  ]);
  // The match is the oldest, so the newest-first list serves it on the second page.
  expected.set(paged.id, (await transfer(paged)).id);
  for (let i = 0; i < 120; i++) await transfer(paged, paged.amount, `decoy-${i}`);
  for (const row of rows.slice(9)) expected.set(row.id, (await transfer(row)).id);

  // Sorted entries: ava compares Maps in insertion order.
  const sorted = (map: Map<string, string>) => [...map].sort(([a], [b]) => a.localeCompare(b));
  const filled = async () =>
    new Map(
      (
        await w.pool.query<{ id: string; stripe_transfer_id: string }>(
          "select id, stripe_transfer_id from settle.seller_transfers where legacy_import and stripe_transfer_id is not null and id = any($1::uuid[])",
          [rows.map((r) => r.id)],
        )
      ).rows.map((r) => [r.id, r.stripe_transfer_id]),
    );
  const audited = async () =>
    (
      await w.pool.query<{ entity_id: string; actor: string; reason: string; from_status: string }>(
        "select entity_id, actor, reason, from_status, to_status from settle.state_transitions where actor like 'cli:%'",
      )
    ).rows;

  const dry = await settle(w, ["backfill-transfer-ids", "--dry-run"]);
  t.is(dry.code, 0, dry.output);
  t.is((await filled()).size, 0, "the dry run changed nothing");
  t.deepEqual(await audited(), []);
  t.regex(dry.output, /dry run: 300 legacy transfer\(s\) lack their Stripe id/);
  t.regex(dry.output, /dry run: would fill 292, unmatched 8, errors 0 \(nothing was changed\)/);
  for (const [id, transferId] of expected) {
    t.true(dry.output.includes(`transfer ${id} `) && dry.output.includes(`matches ${transferId}`));
  }
  const line = (row: LegacyTransfer, output: string) =>
    output.split("\n").find((l) => l.startsWith(`transfer ${row.id} `)) ?? "";
  for (const row of [...neverMade, wrongAmount])
    t.regex(line(row, dry.output), /no Stripe transfer/);
  t.regex(line(ambiguous, dry.output), /unmatched: 2 candidates \(tr_\w+, tr_\w+\)/);
  t.regex(line(taken, dry.output), new RegExp(`unmatched: ${takenId} is already the id of`));

  const real = await settle(w, ["backfill-transfer-ids"]);
  t.is(real.code, 0, real.output);
  t.regex(real.output, /^filled 292, unmatched 8, errors 0$/m);
  t.deepEqual(sorted(await filled()), sorted(expected), "exactly the matched ids were filled");
  const audit = await audited();
  t.is(audit.length, expected.size);
  t.deepEqual(audit.map((a) => a.entity_id).sort(), [...expected.keys()].sort());
  for (const a of audit) {
    t.is(a.actor, "cli:backfill-transfer-ids");
    t.is(a.reason, `backfill: stripe_transfer_id ${expected.get(a.entity_id)} found at Stripe`);
  }

  // Every Stripe call took its slot of the fleet-wide budget.
  const budget = await w.pool.query(
    "select 1 from settle_private.rate_limits where name = 'stripe'",
  );
  t.is(budget.rowCount, 1);

  const again = await settle(w, ["backfill-transfer-ids"]);
  t.is(again.code, 0, again.output);
  t.regex(again.output, /^8 legacy transfer\(s\) lack their Stripe id$/m);
  t.regex(again.output, /^filled 0, unmatched 8, errors 0$/m);
  t.deepEqual(sorted(await filled()), sorted(expected));
  t.is((await audited()).length, expected.size, "a re-run writes nothing");
});

test("backfill-transfer-ids needs only the Stripe key and API base: no JWT_SECRET, no STRIPE_WEBHOOK_SECRET", async (t) => {
  const w = await world(t);
  const [row] = (await legacyTransfers(w.pool, 1)) as [LegacyTransfer];
  const stripe = new Stripe("sk_test_operator_cli", {
    host: "127.0.0.1",
    port: Number(new URL(w.stripe.url).port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
  const made = await stripe.transfers.create({
    amount: row.amount,
    currency: "eur",
    destination: row.account,
    transfer_group: row.orderId,
    metadata: { order_id: row.orderId },
  });
  // It neither verifies webhooks nor signs tokens: the server's secrets are not asked for.
  const dry = await settle(w, ["backfill-transfer-ids", "--dry-run"], {
    JWT_SECRET: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  });
  t.is(dry.code, 0, dry.output);
  t.regex(dry.output, new RegExp(`transfer ${row.id} .* matches ${made.id}`));
  t.regex(dry.output, /dry run: would fill 1, unmatched 0, errors 0 \(nothing was changed\)/);
});

test("backfill-transfer-ids refuses without the Stripe key, naming it", async (t) => {
  const w = await world(t);
  const none = await settle(w, ["backfill-transfer-ids"], {
    JWT_SECRET: undefined,
    STRIPE_SECRET_KEY: undefined,
    STRIPE_API_BASE: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  });
  t.is(none.code, 1, none.output);
  t.regex(none.output, /backfill-transfer-ids needs the Stripe API: set STRIPE_SECRET_KEY/);
  t.notRegex(none.output, /JWT_SECRET|STRIPE_WEBHOOK_SECRET/);
  // An API base without the key is half a configuration: named, not skipped.
  const baseOnly = await settle(w, ["backfill-transfer-ids"], {
    JWT_SECRET: undefined,
    STRIPE_SECRET_KEY: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  });
  t.is(baseOnly.code, 1, baseOnly.output);
  t.regex(baseOnly.output, /STRIPE_SECRET_KEY must be set: STRIPE_API_BASE is set/);
});

test("backfill-transfer-ids --help documents the exit codes; a bad option exits 2", async (t) => {
  const w = await world(t);
  const help = await settle(w, ["backfill-transfer-ids", "--help"]);
  t.is(help.code, 0);
  t.regex(help.output, /--dry-run/);
  t.regex(help.output, /Exit codes: 0 done/);
  const bad = await settle(w, ["backfill-transfer-ids", "--dry"]);
  t.is(bad.code, 2, bad.output);
  t.regex(bad.output, /unknown option '--dry'/);
});
