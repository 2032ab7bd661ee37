/**
 * The run's summary: what was done to the service, what the rows became, each
 * check with its counts, and the time to drain.
 */
import type { CheckResult } from "./checks.ts";
import type { Watch } from "./watch.ts";

export async function printPipeline(watch: Watch, print: (line: string) => void): Promise<void> {
  const rows = await watch.rows<{
    entity: string;
    status: string;
    count: string;
    amount: string | null;
  }>(
    "select entity, status, count::text, amount::text from ops.pipeline_summary order by entity, status",
  );
  print("rows by status (ops.pipeline_summary):");
  let entity = "";
  let line = "";
  for (const row of rows) {
    if (row.entity !== entity) {
      if (line) print(line);
      entity = row.entity;
      line = `  ${entity.padEnd(22)}`;
    }
    line += ` ${row.status} ${row.count}`;
  }
  if (line) print(line);
}

export function printChecks(results: CheckResult[], print: (line: string) => void): number {
  let violations = 0;
  for (const result of results) {
    const ok = result.violations.length === 0;
    violations += result.violations.length;
    print(
      `${ok ? "PASS" : "FAIL"}  ${result.name}: ${result.checked} checked, ${result.violations.length} violation(s)`,
    );
    for (const violation of result.violations.slice(0, 25)) print(`        ${violation}`);
    if (result.violations.length > 25) print(`        … and ${result.violations.length - 25} more`);
  }
  return violations;
}

export function tally(stories: string[]): string {
  const counts = new Map<string, number>();
  for (const story of stories) counts.set(story, (counts.get(story) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([story, n]) => `  ${String(n).padStart(5)}  ${story}`)
    .join("\n");
}
