/**
 * The drain: after the last order, wait until no row is in a state that still
 * expects something to happen (a job, a webhook, the PSP), and say how long that
 * took. A row that stays is reported with its status and last error.
 */
import { sleep } from "./processes.ts";
import type { Watch } from "./watch.ts";

/** Per entity, the statuses that are not terminal (SPEC §4); a row there still moves. */
export const NON_TERMINAL_SQL = `
  select 'orders' as entity, id::text, status, last_error from settle.orders
    where status in ('pending', 'payment_pending')
  union all
  select 'refunds', id::text, status, last_error from settle.refunds where status in ('pending', 'processing')
  union all
  select 'seller_transfers', id::text, status, last_error from settle.seller_transfers
    where status in ('pending', 'failed')
  union all
  select 'transfer_reversals', id::text, status, last_error from settle.transfer_reversals where status = 'pending'
  union all
  select 'seller_payouts', id::text,
         status || coalesce(' ' || nullif(external_payout_id, ''), ' (not sent)') || ', retries ' || retry_count,
         last_error
    from settle.seller_payouts where status in ('pending', 'in_transit')
  union all
  select 'webhook_events', id::text, 'unprocessed', last_error from settle.webhook_events where processed_at is null`;

export interface Unsettled {
  entity: string;
  id: string;
  status: string;
  last_error: string | null;
}

export async function drain(
  watch: Watch,
  timeoutMs: number,
  progress: (left: number) => void,
): Promise<{ ms: number; left: Unsettled[] }> {
  const started = Date.now();
  let lastPrint = 0;
  for (;;) {
    const left = await watch.rows<Unsettled>(NON_TERMINAL_SQL);
    const ms = Date.now() - started;
    if (left.length === 0 || ms > timeoutMs) return { ms, left };
    if (Date.now() - lastPrint > 5_000) {
      progress(left.length);
      lastPrint = Date.now();
    }
    await sleep(250);
  }
}
