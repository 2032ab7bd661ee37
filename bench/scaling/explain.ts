/**
 * The plans of the queries that run forever in the background, as PostgreSQL
 * actually executed them: the sweep's statements are traced from inside its
 * plpgsql function with auto_explain (nested statements, ANALYZE), whose LOG
 * lines reach this client; the due-job query is explained directly. Everything
 * runs in a transaction that is rolled back (both would change rows).
 */
import type pg from "pg";

export interface PlannedQuery {
  name: string;
  ms: number;
  /** Index: the plan reads a large table only through an index. */
  index: boolean;
  plan: string;
}

/** Tables that grow with history: a Seq Scan on one of them does not scale. */
const LARGE =
  /Seq Scan on (orders|order_items|seller_transfers|refunds|transfer_reversals|webhook_events|_private_jobs|subscription_invoices|subscriptions|seller_payouts)\b/;

export function usesIndexes(plan: string): boolean {
  return /Index (Only )?Scan|Bitmap Index Scan/.test(plan) && !LARGE.test(plan);
}

export async function explainSweep(pool: pg.Pool): Promise<PlannedQuery[]> {
  const c = await pool.connect();
  const notices: string[] = [];
  const onNotice = (n: { message?: string }) => notices.push(n.message ?? "");
  c.on("notice", onNotice);
  try {
    await c.query("begin");
    await c.query("load 'auto_explain'");
    await c.query(`set local auto_explain.log_min_duration = 0;
      set local auto_explain.log_analyze = on;
      set local auto_explain.log_nested_statements = on;
      set local auto_explain.log_timing = on;
      set local client_min_messages = log`);
    await c.query("select * from settle_private.sweep('1 minute')");
    await c.query("rollback");
  } finally {
    c.off("notice", onNotice);
    c.release();
  }
  return notices
    .map((message) => {
      const text =
        /Query Text: ([\s\S]*?)\n(?=\S|\s*(Result|Index|Seq|Bitmap|Nested|Hash|Sort|Limit|Aggregate|Function|Subquery|Append|Merge|Unique|Gather|LockRows|Update|Insert|CTE))/.exec(
          message,
        );
      const ms = Number(/duration: ([\d.]+) ms/.exec(message)?.[1] ?? Number.NaN);
      const query = (text?.[1] ?? message).replace(/\s+/g, " ").trim();
      return { query, ms, plan: message };
    })
    .filter(({ query }) => /^select (s\.)?id from settle\./.test(query))
    .map(({ query, ms, plan }) => ({
      name: `sweep: ${/from (settle\.\w+)/.exec(query)?.[1] ?? query.slice(0, 40)}`,
      ms,
      index: usesIndexes(plan),
      plan,
    }));
}

/**
 * The due-job query as Settle's worker sends it. It was captured from the no-op
 * runner, whose second parameter lists only the no-op task; Settle's worker asks
 * for all of its own tasks, which is what the history rows and the flows' leftover
 * jobs belong to, so the plan is taken with those task ids instead.
 */
export async function explainGetJob(
  pool: pg.Pool,
  query: { text: string; values: unknown[] },
  noopTask: string,
): Promise<PlannedQuery> {
  const c = await pool.connect();
  try {
    await c.query("begin");
    const { rows: tasks } = await c.query<{ ids: number[] }>(
      "select coalesce(array_agg(id order by id), '{}') as ids from graphile_worker._private_tasks where identifier <> $1",
      [noopTask],
    );
    const values = [...query.values];
    values[1] = tasks[0]?.ids ?? [];
    const started = performance.now();
    const { rows } = await c.query<{ "QUERY PLAN": string }>(
      `explain (analyze, buffers) ${query.text}`,
      values,
    );
    const ms = performance.now() - started;
    await c.query("rollback");
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    const execution = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? ms);
    return { name: "graphile-worker get_job", ms: execution, index: usesIndexes(plan), plan };
  } finally {
    c.release();
  }
}

/** Median wall time of whole sweeps (what the sweeper task pays each interval). */
export async function timeSweep(pool: pg.Pool, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = await pool.connect();
    try {
      await c.query("begin");
      const started = performance.now();
      await c.query("select * from settle_private.sweep('1 minute')");
      times.push(performance.now() - started);
      await c.query("rollback");
    } finally {
      c.release();
    }
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
