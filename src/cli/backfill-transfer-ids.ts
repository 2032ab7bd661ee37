/**
 * `settle backfill-transfer-ids [--dry-run]`: finds the Stripe transfer of every
 * legacy-imported seller transfer recorded as made (completed, partially_reversed,
 * reversed) without its stripe_transfer_id. For each row it lists the seller's
 * transfers at Stripe by destination (the seller's connected account) and
 * transfer_group (the order id), and adopts the one transfer whose metadata
 * order_id, amount and currency agree. Zero or several candidates, or a transfer
 * already adopted by another row, are reported and left alone: guessing would
 * attach one payment's history to another.
 *
 * Resumable and safe to re-run: each row is written in its own short transaction
 * and only rows still lacking an id are read, so an interrupted run picks up where
 * it stopped and a finished one finds nothing to do. Stripe calls take their slot
 * of the fleet-wide budget (STRIPE_MAX_REQUESTS_PER_SECOND) on the pool, outside
 * any transaction, like the worker's.
 */
import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { UniqueIntegrityConstraintViolationError } from "slonik";
import type Stripe from "stripe";
import { z } from "zod";
import { loadOperatorConfig } from "../config.ts";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { takeStripeSlots } from "../flows/database-context.ts";
import { StripeService } from "../psp/stripe/service.ts";
import { withSession } from "./session.ts";

const ACTOR = "cli:backfill-transfer-ids";
/** StripeService.listTransfers asks for pages of this size: one request per page. */
const STRIPE_PAGE = 100;

const LegacyRow = z.object({
  id: z.string(),
  order_id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  destination: z.string(),
});
type LegacyRow = z.infer<typeof LegacyRow>;

type Outcome =
  | { kind: "filled" | "would_fill"; transferId: string }
  | { kind: "no_candidate" }
  | { kind: "ambiguous"; candidates: string[] }
  | { kind: "taken"; transferId: string; by: string }
  | { kind: "already_filled" }
  | { kind: "error"; message: string };

export function backfillTransferIdsCommand(): Command {
  return new Command("backfill-transfer-ids")
    .description(
      "Fill the missing Stripe transfer id of legacy-imported transfers from Stripe's list of the seller's transfers.",
    )
    .option("--dry-run", "change nothing; report what would be filled")
    .addHelpText(
      "after",
      [
        "",
        "Needs STRIPE_SECRET_KEY (and STRIPE_API_BASE for a non-Stripe endpoint), and the",
        "database: DATABASE_URL or the embedded cluster of SETTLE_DATA_DIR. The server's",
        "JWT_SECRET and webhook secrets are not needed.",
        "Safe to interrupt and re-run: only rows still missing an id are looked at.",
        "",
        "Exit codes: 0 done (unmatched rows are listed, not failures), 1 failed (or a Stripe",
        "call failed for some rows: re-run to retry them), 2 bad usage.",
      ].join("\n"),
    )
    .action(async (options: { dryRun?: boolean }) => {
      const config = loadOperatorConfig();
      if (!config.stripe) {
        throw new Error(
          "backfill-transfer-ids needs the Stripe API: set STRIPE_SECRET_KEY " +
            "(and STRIPE_API_BASE when not talking to api.stripe.com)",
        );
      }
      const stripeOptions = config.stripe;
      const failed = await withSession("backfill-transfer-ids", async ({ db, log }) => {
        const stripe = new StripeService(
          { ...stripeOptions, timeoutMs: config.pspTimeoutMs, logger: log },
          Date.now,
        );
        const take = () => takeStripeSlots(db, config.stripeMaxRequestsPerSecond);
        const rows = await db.any(sql.type(LegacyRow)`
          select t.id, t.order_id::text, t.amount, t.currency, s.stripe_account_id as destination
          from settle.seller_transfers t join settle.sellers s on s.id = t.seller_id
          where t.legacy_import and t.status in ('completed', 'partially_reversed', 'reversed')
            and coalesce(t.stripe_transfer_id, '') = ''
          order by t.created_at, t.id`);
        return run(rows, { db, stripe, take, dryRun: options.dryRun === true });
      });
      if (failed) process.exitCode = 1;
    });
}

interface RunDeps {
  db: DatabasePool;
  stripe: StripeService;
  take: () => Promise<void>;
  dryRun: boolean;
}

/** Walks the rows in order, reporting as it goes; true when a row hit an error. */
async function run(rows: readonly LegacyRow[], deps: RunDeps): Promise<boolean> {
  const verb = deps.dryRun ? "dry run: " : "";
  console.log(`${verb}${rows.length} legacy transfer(s) lack their Stripe id`);
  // A bar on a terminal; a line per row in a pipe or a log, where a bar is noise.
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: "{bar} {value}/{total} rows | matched {matched} | unmatched {unmatched}",
        stream: process.stderr,
      })
    : null;
  const counts = { matched: 0, unmatched: 0, errors: 0 };
  const lines: string[] = [];
  // Ids adopted during this run: a dry run writes nothing, yet must report the
  // second claimant of one transfer as the real run would.
  const claimed = new Map<string, string>();
  bar?.start(rows.length, 0, counts);
  for (const row of rows) {
    const outcome = await backfillRow(row, claimed, deps);
    if (outcome.kind === "filled" || outcome.kind === "would_fill") counts.matched++;
    else if (outcome.kind === "error") counts.errors++;
    else if (outcome.kind !== "already_filled") counts.unmatched++;
    const line = describe(row, outcome);
    if (bar) {
      lines.push(line);
      bar.increment(1, counts);
    } else {
      console.log(line);
    }
  }
  bar?.stop();
  for (const line of lines) console.log(line);
  const did = deps.dryRun ? "would fill" : "filled";
  console.log(
    `${verb}${did} ${counts.matched}, unmatched ${counts.unmatched}, errors ${counts.errors}` +
      (deps.dryRun ? " (nothing was changed)" : ""),
  );
  return counts.errors > 0;
}

async function backfillRow(
  row: LegacyRow,
  claimed: Map<string, string>,
  deps: RunDeps,
): Promise<Outcome> {
  let candidates: Stripe.Transfer[];
  try {
    candidates = await listCandidates(row, deps);
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  if (candidates.length === 0) return { kind: "no_candidate" };
  if (candidates.length > 1) return { kind: "ambiguous", candidates: candidates.map((c) => c.id) };
  const transferId = (candidates[0] as Stripe.Transfer).id;
  const by =
    claimed.get(transferId) ??
    (await deps.db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
      select id from settle.seller_transfers where stripe_transfer_id = ${transferId}`));
  if (by !== null && by !== row.id) return { kind: "taken", transferId, by };
  claimed.set(transferId, row.id);
  if (deps.dryRun) return { kind: "would_fill", transferId };
  try {
    return (await fill(deps.db, row.id, transferId))
      ? { kind: "filled", transferId }
      : { kind: "already_filled" };
  } catch (error) {
    // Another row took this transfer between the check and the write.
    if (error instanceof UniqueIntegrityConstraintViolationError) {
      return { kind: "taken", transferId, by: "another row (concurrently)" };
    }
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
}

/** The order's transfers to this seller whose metadata and amount say they are this row's. */
async function listCandidates(row: LegacyRow, deps: RunDeps): Promise<Stripe.Transfer[]> {
  const found: Stripe.Transfer[] = [];
  const pages = deps.stripe
    .listTransfers({ destination: row.destination, transferGroup: row.order_id })
    [Symbol.asyncIterator]();
  // The iterator fetches a page when it runs out of items: take a slot before the
  // first item and before every item that may start a new page.
  for (let seen = 0; ; seen++) {
    if (seen % STRIPE_PAGE === 0) await deps.take();
    const next = await pages.next();
    if (next.done) return found;
    const transfer = next.value;
    if (
      transfer.metadata?.order_id === row.order_id &&
      BigInt(transfer.amount) === row.amount &&
      transfer.currency.toLowerCase() === row.currency.toLowerCase()
    ) {
      found.push(transfer);
    }
  }
}

/**
 * One transaction per row: the fill-once guard of stripe_transfer_id allows
 * empty -> value, and the WHERE makes a concurrent or earlier fill a no-op. The
 * status does not change, so the state machine's audit trigger (on status) does
 * not fire: the audit row is written here, with the same actor and reason fields.
 */
async function fill(db: DatabasePool, id: string, transferId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const reason = `backfill: stripe_transfer_id ${transferId} found at Stripe`;
    await tx.query(sql.type(z.object({}))`
      select set_config('settle.actor', ${ACTOR}, true) as _,
             set_config('settle.reason', ${reason}, true) as __`);
    const status = await tx.maybeOneFirst(sql.type(z.object({ status: z.string() }))`
      update settle.seller_transfers set stripe_transfer_id = ${transferId}
      where id = ${id} and legacy_import and coalesce(stripe_transfer_id, '') = ''
      returning status`);
    if (status === null) return false;
    await tx.query(sql.type(z.object({}))`
      insert into settle.state_transitions (entity, entity_id, from_status, to_status, actor, reason)
      values ('seller_transfers', ${id}, ${status}, ${status}, settle_private.current_actor(),
              current_setting('settle.reason', true))`);
    return true;
  });
}

function describe(row: LegacyRow, outcome: Outcome): string {
  const head = `transfer ${row.id} (order ${row.order_id}, ${row.amount} ${row.currency}, ${row.destination}):`;
  switch (outcome.kind) {
    case "filled":
      return `${head} filled ${outcome.transferId}`;
    case "would_fill":
      return `${head} matches ${outcome.transferId} (dry run: not written)`;
    case "no_candidate":
      return `${head} unmatched: no Stripe transfer with this order_id, amount and currency`;
    case "ambiguous":
      return `${head} unmatched: ${outcome.candidates.length} candidates (${outcome.candidates.join(", ")})`;
    case "taken":
      return `${head} unmatched: ${outcome.transferId} is already the id of ${outcome.by}`;
    case "already_filled":
      return `${head} skipped: its id was filled meanwhile`;
    case "error":
      return `${head} error: ${outcome.message}`;
  }
}
