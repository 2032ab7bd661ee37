/**
 * `settle reconcile [--since <ISO date | 7d | 12h | 30m>]` (SPEC §8): our rows
 * against the PSPs' lists since a moment (default 7 days ago): orders' payments,
 * refunds and subscription invoices against Hyperswitch (reconcile-hyperswitch.ts,
 * reconcile-invoices.ts), seller transfers, reversals and payouts against Stripe
 * (reconcile-stripe.ts). Each provider is reconciled when its API credentials are
 * configured; one that is not is said to be skipped, and none at all is an error.
 * Prints a summary per kind and the first mismatches, and stores every mismatch
 * under one run id in one transaction, with the run itself, so that
 * ops.reconciliation_mismatches shows the latest run (empty when it was clean). Read-only towards the PSPs and our money rows: a re-run just
 * adds a run. Exit 3 when any mismatch was found, so a cron job can alert on it.
 */
import { Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import { loadOperatorConfig } from "../config.ts";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { takeStripeSlots } from "../flows/database-context.ts";
import { HyperswitchClient } from "../psp/hyperswitch/index.ts";
import { StripeService } from "../psp/stripe/service.ts";
import { reconcileHyperswitch } from "./reconcile-hyperswitch.ts";
import type { EntityReport, Mismatch } from "./reconcile-mismatch.ts";
import { reconcileStripe } from "./reconcile-stripe.ts";
import { withSession } from "./session.ts";

/** The exit code that reports mismatches (0 none, 1 failed, 2 bad usage). */
export const EXIT_MISMATCHES = 3;
/** Enough to start looking; the view has them all. */
const SHOWN = 20;
const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** An ISO date, or a duration back from now (`7d`, `12h`, `30m`). */
export function parseSince(value: string, now = Date.now()): Date {
  const duration = /^(\d+)([dhm])$/.exec(value);
  if (duration) return new Date(now - Number(duration[1]) * (UNITS[duration[2] as string] ?? 0));
  // A bare number would parse as a year or an epoch: neither is what anyone means.
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime()) || at.getTime() > now) {
    throw new InvalidArgumentError(
      "expected an ISO date in the past or a duration like 7d, 12h, 30m",
    );
  }
  return at;
}

export function reconcileCommand(): Command {
  return new Command("reconcile")
    .description(
      "Compare our payments, refunds and subscription invoices with Hyperswitch's lists, and our transfers, reversals and payouts with Stripe's, and record the mismatches.",
    )
    .option(
      "--since <when>",
      "ISO date, or a duration back from now: 7d, 12h, 30m",
      (value: string) => parseSince(value),
    )
    .addHelpText(
      "after",
      [
        "",
        "Mismatch kinds: missing_here (at the PSP, no row of ours), missing_there (our row",
        "says made, the PSP has no such object), amount_differs, status_differs. Each run is",
        "stored; ops.reconciliation_mismatches shows the latest one. Default --since: 7d.",
        "",
        "Compared: Hyperswitch payments (payment_id = our order id) and refunds (refund_id = our",
        "refund id), when HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY are set; Stripe transfers,",
        "reversals and payouts, when STRIPE_SECRET_KEY is set (and STRIPE_API_BASE for a non-Stripe",
        "endpoint). A provider without credentials is skipped and the output says so; at least one",
        "is needed. The server's JWT_SECRET and webhook secrets are not needed. Also needs the",
        "database: DATABASE_URL or the embedded cluster of SETTLE_DATA_DIR.",
        "",
        "Payments of subscription invoices (payment_id = invoice id, <id>_<k> for retry k) are",
        "compared with subscription_invoices: each attempt for the invoice's amount, at most one",
        "attempt that took the money (two is status_differs: charged twice), and the invoice paid",
        "exactly when one did.",
        "",
        "Exit codes: 0 no mismatch, 1 failed (nothing stored), 2 bad usage, 3 mismatches found.",
      ].join("\n"),
    )
    .action(async (options: { since?: Date }) => {
      const config = loadOperatorConfig();
      const { hyperswitch: hyperswitchOptions, stripe: stripeOptions } = config;
      if (!hyperswitchOptions && !stripeOptions) {
        throw new Error(
          "reconcile needs the API credentials of at least one PSP: set HYPERSWITCH_BASE_URL " +
            "and HYPERSWITCH_API_KEY, or STRIPE_SECRET_KEY (and STRIPE_API_BASE when not " +
            "talking to api.stripe.com)",
        );
      }
      const since = options.since ?? parseSince("7d");
      const found = await withSession("reconcile", async ({ db, log }) => {
        console.log(`reconciling since ${since.toISOString()}`);
        const reports: EntityReport[] = [];
        if (hyperswitchOptions) {
          const hyperswitch = new HyperswitchClient({
            baseUrl: hyperswitchOptions.baseUrl,
            apiKey: hyperswitchOptions.apiKey,
            timeoutMs: config.pspTimeoutMs,
            logger: log,
          });
          reports.push(...(await reconcileHyperswitch({ db, hyperswitch, since })));
        } else {
          console.log(
            "hyperswitch skipped: HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY are not set, so payments and refunds were not compared",
          );
        }
        if (stripeOptions) {
          const stripe = new StripeService(
            { ...stripeOptions, timeoutMs: config.pspTimeoutMs, logger: log },
            Date.now,
          );
          const take = () => takeStripeSlots(db, config.stripeMaxRequestsPerSecond);
          reports.push(...(await reconcileStripe({ db, stripe, take, since })));
        } else {
          console.log(
            "stripe skipped: STRIPE_SECRET_KEY is not set, so transfers, reversals and payouts were not compared",
          );
        }
        const runId = await store(db, since, reports);
        print(runId, reports);
        return reports.some((r) => r.mismatches.length > 0);
      });
      if (found) process.exitCode = EXIT_MISMATCHES;
    });
}

/** The run and all its mismatches, in one transaction: a run is wholly stored or not at all. */
async function store(
  db: DatabasePool,
  since: Date,
  reports: readonly EntityReport[],
): Promise<string> {
  const all = reports.flatMap((r) => r.mismatches);
  return db.transaction(async (tx) => {
    const runId = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
      insert into settle.reconciliation_runs (since, mismatch_count)
      values (${since.toISOString()}::timestamptz, ${all.length}) returning id`);
    if (all.length > 0) {
      await tx.query(sql.type(z.object({}))`
        insert into settle.reconciliation_mismatches (run_id, provider, kind, entity, entity_id, psp_id, detail)
        select ${runId}::uuid, m.provider, m.kind, m.entity, m.entity_id::uuid, m.psp_id, m.detail
        from ${sql.unnest(
          all.map((m) => [m.provider, m.kind, m.entity, m.entityId, m.pspId, m.detail]),
          ["text", "text", "text", "text", "text", "text"],
        )} as m (provider, kind, entity, entity_id, psp_id, detail)`);
    }
    return runId;
  });
}

function print(runId: string, reports: readonly EntityReport[]): void {
  for (const r of reports) {
    const kinds = new Map<string, number>();
    for (const m of r.mismatches) kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
    const detail = [...kinds].map(([kind, n]) => `${kind} ${n}`).join(", ");
    console.log(
      `${r.provider} ${r.entity}: ${r.ours} ours, ${r.theirs} theirs, ` +
        `${r.mismatches.length} mismatch(es)${detail ? ` (${detail})` : ""}` +
        `${r.note ? `; ${r.note}` : ""}`,
    );
  }
  const all = reports.flatMap((r) => r.mismatches);
  for (const m of all.slice(0, SHOWN)) console.log(describe(m));
  if (all.length > SHOWN) console.log(`… and ${all.length - SHOWN} more`);
  console.log(
    all.length === 0
      ? `run ${runId}: no mismatches`
      : `run ${runId}: ${all.length} mismatch(es), all in ops.reconciliation_mismatches`,
  );
}

function describe(m: Mismatch): string {
  const ids = [m.entityId ? `row ${m.entityId}` : null, m.pspId].filter(Boolean).join(" / ");
  return `${m.kind} ${m.provider} ${m.entity} ${ids || "-"}: ${m.detail}`;
}
