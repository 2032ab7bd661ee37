/**
 * Knowing when a flow has finished, without disturbing it: bench-only constraint
 * triggers (created in the bench's throwaway database, never by a migration) note
 * the moment a transfer completes or a reversal is reversed, at the commit of the
 * transaction that did it (deferred to commit time), in an unlogged table that
 * the bench reads every few milliseconds. Not NOTIFY: every notifying transaction
 * in the cluster queues for one global lock at commit, so a NOTIFY per milestone
 * would slow down what is being measured.
 */
import pg from "pg";

export type Milestone = "transfer_completed" | "reversal_reversed";

const POLL_MS = 5;

const TRIGGERS = `
create unlogged table if not exists public.bench_milestones (
  seq bigserial primary key, milestone text not null, order_id uuid not null,
  at double precision not null);

create or replace function public.bench_tg_transfer_completed() returns trigger language plpgsql as $$
begin
  insert into public.bench_milestones (milestone, order_id, at)
  values ('transfer_completed', NEW.order_id, extract(epoch from clock_timestamp()) * 1000);
  return null;
end $$;
drop trigger if exists bench_transfer_completed on settle.seller_transfers;
create constraint trigger bench_transfer_completed after update of status on settle.seller_transfers
  deferrable initially deferred
  for each row when (NEW.status = 'completed' and OLD.status <> 'completed')
  execute function public.bench_tg_transfer_completed();

create or replace function public.bench_tg_reversal_reversed() returns trigger language plpgsql as $$
begin
  insert into public.bench_milestones (milestone, order_id, at)
  select 'reversal_reversed', t.order_id, extract(epoch from clock_timestamp()) * 1000
  from settle.seller_transfers t where t.id = NEW.seller_transfer_id;
  return null;
end $$;
drop trigger if exists bench_reversal_reversed on settle.transfer_reversals;
create constraint trigger bench_reversal_reversed after update of status on settle.transfer_reversals
  deferrable initially deferred
  for each row when (NEW.status = 'reversed' and OLD.status <> 'reversed')
  execute function public.bench_tg_reversal_reversed();
`;

export interface Completion {
  /**
   * Resolves with the time (Date.now() scale, ms) the order's `count`-th milestone
   * of this kind committed, whether it happened before or after the call.
   */
  wait(milestone: Milestone, orderId: string, count: number, timeoutMs?: number): Promise<number>;
  /** Commit times (Date.now() scale) of every milestone of this kind so far, in order. */
  times(milestone: Milestone): number[];
  close(): Promise<void>;
  dropTriggers(): Promise<void>;
}

export async function listenForCompletion(url: string): Promise<Completion> {
  const client = new pg.Client({ connectionString: url, application_name: "bench_completion" });
  await client.connect();
  await client.query(TRIGGERS);
  const seen = new Map<string, number[]>();
  const arrivals = new Map<Milestone, number[]>();
  const waiters = new Map<string, { count: number; resolve: (at: number) => void }>();
  let closed = false;

  const poll = async () => {
    const { rows } = await client.query<{
      seq: string;
      milestone: Milestone;
      order_id: string;
      at: number;
    }>(
      // Taken away as read: sequence numbers are drawn before commit, so
      // "seq > last seen" would skip a row whose transaction committed late.
      "delete from public.bench_milestones returning seq, milestone, order_id, at",
    );
    rows.sort((a, b) => a.at - b.at);
    for (const row of rows) {
      const list = arrivals.get(row.milestone) ?? [];
      list.push(row.at);
      arrivals.set(row.milestone, list);
      const key = `${row.milestone}:${row.order_id}`;
      const times = seen.get(key) ?? [];
      times.push(row.at);
      seen.set(key, times);
      const waiter = waiters.get(key);
      if (waiter && times.length >= waiter.count) {
        waiters.delete(key);
        waiter.resolve(Math.max(...times));
      }
    }
  };
  const loop = (async () => {
    while (!closed) {
      await poll();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  return {
    wait(milestone, orderId, count, timeoutMs = 120_000) {
      const key = `${milestone}:${orderId}`;
      const times = seen.get(key) ?? [];
      if (times.length >= count) return Promise.resolve(Math.max(...times));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(key);
          reject(
            new Error(`${key}: ${seen.get(key)?.length ?? 0} of ${count} after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.set(key, {
          count,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      });
    },
    times: (milestone) => [...(arrivals.get(milestone) ?? [])],
    async dropTriggers() {
      await client.query(`
        drop trigger if exists bench_transfer_completed on settle.seller_transfers;
        drop trigger if exists bench_reversal_reversed on settle.transfer_reversals;`);
    },
    async close() {
      closed = true;
      await loop;
      await client.end();
    },
  };
}
