/**
 * `npx settle status`: the pipeline summary as an aligned table and the counts of
 * the views that want a human; exit 0 on consistent books, 3 (documented in
 * --help) once an invariant is broken, with the broken rule listed.
 */
import test from "ava";
import { legacyTransfers, settle, world } from "./operator-support.ts";

test("prints the summary; exits 3 when ops.money_invariants is not empty", async (t) => {
  const w = await world(t);
  // status reads the database only: Stripe's key in the environment (as the server's
  // settings would have it) does not make it ask for the server's secrets.
  const clean = await settle(w, ["status"], {
    JWT_SECRET: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
  });
  t.is(clean.code, 0, clean.output);
  t.regex(clean.output, /^entity\s+status\s+count\s+amount$/m);
  t.regex(clean.output, /^broken invariants \(ops\.money_invariants\): 0$/m);

  // A legacy transfer imported without its Stripe id: allowed (SPEC §4), so not a
  // broken invariant, but counted among the rows that want a human.
  const [legacy] = await legacyTransfers(w.pool, 1);
  const awaiting = await settle(w, ["status"]);
  t.is(awaiting.code, 0, awaiting.output);
  t.regex(awaiting.output, /^broken invariants \(ops\.money_invariants\): 0$/m);
  t.regex(
    awaiting.output,
    /^transfers without their Stripe id \(ops\.transfers_missing_stripe_id\): 1$/m,
  );
  await w.pool.query(
    "update settle.seller_transfers set stripe_transfer_id = 'tr_status1' where id = $1",
    [legacy?.id],
  );
  const summary = await settle(w, ["status"]);
  t.is(summary.code, 0, summary.output);
  // Aligned: the count column ends where its header ends.
  const lines = summary.output.split("\n");
  const header = lines.find((l) => l.startsWith("entity")) as string;
  const row = lines.find((l) => l.startsWith("seller_transfers")) as string;
  t.regex(row, /^seller_transfers\s+completed\s+1\s+1000$/);
  t.is(row.indexOf(" 1 ") + 2, header.indexOf("count") + "count".length);

  // Bypass the database's guards, as a restore from elsewhere would.
  const client = await w.pool.connect();
  try {
    await client.query("begin");
    await client.query("set local session_replication_role = replica");
    await client.query("update settle.orders set total_amount = total_amount + 1 where id = $1", [
      legacy?.orderId,
    ]);
    await client.query("commit");
  } finally {
    client.release();
  }
  const broken = await settle(w, ["status"]);
  t.is(broken.code, 3, broken.output);
  t.regex(broken.output, /^broken invariants \(ops\.money_invariants\): 1$/m);
  t.regex(
    broken.output,
    new RegExp(
      `order_total_equals_items\\s+orders\\s+${legacy?.orderId}\\s+total_amount 1101, items add up to 1100`,
    ),
  );
});

test("--help documents exit code 3", async (t) => {
  const w = await world(t);
  const help = await settle(w, ["status", "--help"]);
  t.is(help.code, 0);
  t.regex(help.output, /3 {2}ops\.money_invariants has rows/);
});
