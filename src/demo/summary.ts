/**
 * The operator's view after the run (SPEC §7): how many rows and how much money
 * sit in each status, and the views that list what needs a human. A clean
 * lifecycle leaves every one of those empty, ops.money_invariants above all.
 */
import type pg from "pg";

/** Views that list rows needing attention; each must be empty after the demo. */
const ATTENTION_VIEWS = [
  "ops.money_invariants",
  "ops.stuck_transfers",
  "ops.reversal_backlog",
  "ops.refunds_without_psp_id",
] as const;

/** Prints the summary; returns the views that are not empty, with their rows. */
export async function printSummary(
  pool: pg.Pool,
  print: (line: string) => void,
): Promise<string[]> {
  const { rows: pipeline } = await pool.query<{
    entity: string;
    status: string;
    count: string;
    amount: string | null;
  }>("select entity, status, count, amount from ops.pipeline_summary order by entity, status");
  print("ops.pipeline_summary (rows and minor units per status):");
  for (const row of pipeline) {
    print(
      `  ${row.entity.padEnd(20)} ${row.status.padEnd(20)} ${row.count.padStart(3)}  ${(row.amount ?? "").padStart(8)}`,
    );
  }
  const problems: string[] = [];
  for (const view of ATTENTION_VIEWS) {
    const { rows } = await pool.query(`select * from ${view}`);
    if (rows.length === 0) {
      print(`${view}: empty`);
      continue;
    }
    print(`${view}: ${rows.length} row(s)`);
    for (const row of rows) print(`  ${JSON.stringify(row)}`);
    problems.push(`${view} lists ${rows.length} row(s)`);
  }
  return problems;
}
