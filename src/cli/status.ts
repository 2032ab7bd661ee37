/**
 * `settle status`: the pipeline at a glance (ops.pipeline_summary as a table) and
 * the views that want a human: stuck transfers, the reversal backlog, transfers
 * awaiting their Stripe id (legacy imports for the backfill) and broken money
 * invariants. Exit 3 when ops.money_invariants is not empty, so a
 * cron job or a deploy script can alert on it without parsing the output.
 */
import { Command } from "commander";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { withSession } from "./session.ts";

/** The exit code that reports broken invariants (0 ok, 1 failed, 2 bad usage). */
export const EXIT_INVARIANTS_BROKEN = 3;
/** Enough to start looking; the view has them all. */
const INVARIANTS_SHOWN = 20;

const SummaryRow = z.object({
  entity: z.string(),
  status: z.string(),
  count: z.bigint(),
  amount: z.bigint().nullable(),
});
const Count = z.object({ n: z.bigint() });
const Invariant = z.object({
  invariant: z.string(),
  entity: z.string(),
  entity_id: z.string(),
  detail: z.string(),
});

export function statusCommand(): Command {
  return new Command("status")
    .description("Print the pipeline summary and the counts of the ops views that need attention.")
    .addHelpText(
      "after",
      [
        "",
        "Exit codes:",
        "  0  the books are consistent (ops.money_invariants is empty)",
        `  ${EXIT_INVARIANTS_BROKEN}  ops.money_invariants has rows: an invariant is broken (listed)`,
        "  1  the command failed (database unreachable, not migrated, …)",
        "  2  bad usage",
      ].join("\n"),
    )
    .action(async () => {
      const broken = await withSession("status", async ({ db }) => {
        const summary = await db.any(sql.type(SummaryRow)`
          select entity, status, count, amount from ops.pipeline_summary order by entity, status`);
        const count = (
          view:
            | "stuck_transfers"
            | "reversal_backlog"
            | "transfers_missing_stripe_id"
            | "money_invariants",
        ) =>
          db.oneFirst(sql.type(Count)`select count(*) as n from ${sql.identifier(["ops", view])}`);
        const [stuck, backlog, missingIds, invariants] = [
          await count("stuck_transfers"),
          await count("reversal_backlog"),
          await count("transfers_missing_stripe_id"),
          await count("money_invariants"),
        ];
        const shown = await db.any(sql.type(Invariant)`
          select invariant, entity, entity_id::text, detail from ops.money_invariants
          order by invariant, entity, entity_id limit ${INVARIANTS_SHOWN}`);

        console.log(
          table(
            ["entity", "status", "count", "amount"],
            summary.map((r) => [r.entity, r.status, String(r.count), r.amount?.toString() ?? ""]),
            [false, false, true, true],
          ),
        );
        console.log("");
        console.log(`stuck transfers (ops.stuck_transfers):   ${stuck}`);
        console.log(`reversal backlog (ops.reversal_backlog): ${backlog}`);
        console.log(
          `transfers without their Stripe id (ops.transfers_missing_stripe_id): ${missingIds}`,
        );
        console.log(`broken invariants (ops.money_invariants): ${invariants}`);
        if (shown.length > 0) {
          console.log("");
          console.log(
            table(
              ["invariant", "entity", "entity_id", "detail"],
              shown.map((r) => [r.invariant, r.entity, r.entity_id, r.detail]),
            ),
          );
          if (invariants > BigInt(shown.length)) {
            console.log(
              `… and ${invariants - BigInt(shown.length)} more: select * from ops.money_invariants`,
            );
          }
        }
        return invariants > 0n;
      });
      // Not process.exit(): the pool and any embedded cluster are closed already,
      // and stdout must drain when it is a pipe.
      if (broken) process.exitCode = EXIT_INVARIANTS_BROKEN;
    });
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
