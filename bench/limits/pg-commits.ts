/**
 * The database's own ceiling: transactions of one small UPDATE each, committed
 * one after another on several connections for a fixed time. Everything Settle
 * does costs at least a few of these, so flows are compared against it.
 */
import pg from "pg";
import { round } from "../stats.ts";

export interface PgCommitsResult {
  connections: number;
  seconds: number;
  commits: number;
  per_s: number;
}

export async function measurePgCommits(options: {
  url: string;
  connections: number;
  seconds: number;
}): Promise<PgCommitsResult> {
  const setup = new pg.Client({ connectionString: options.url });
  await setup.connect();
  // Logged, like Settle's tables: the WAL flush at commit is part of the cost.
  await setup.query(
    "create table if not exists public.bench_counters (id int primary key, n bigint not null default 0)",
  );
  await setup.query(
    "insert into public.bench_counters (id) select generate_series(1, $1) on conflict do nothing",
    [options.connections],
  );
  const clients = await Promise.all(
    Array.from({ length: options.connections }, async () => {
      const c = new pg.Client({ connectionString: options.url });
      await c.connect();
      return c;
    }),
  );
  let commits = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      const query = {
        name: "bench_commit",
        text: "update public.bench_counters set n = n + 1 where id = $1",
        values: [i + 1],
      };
      while (performance.now() < deadline) {
        await c.query(query); // autocommit: one transaction per statement
        commits++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.end()));
  await setup.query("drop table public.bench_counters");
  await setup.end();
  return {
    connections: options.connections,
    seconds: round(elapsed),
    commits,
    per_s: round(commits / elapsed),
  };
}
