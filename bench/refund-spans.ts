/**
 * Where a refund's time goes, from the audit trail (settle.state_transitions,
 * stamped with clock_timestamp() inside each transaction) and the stored
 * webhook: for the one-at-a-time refunds, the p50/p99 of each step between the
 * refund row's insert and its last reversal's `reversed`. Steps are read inside
 * transactions, so a step's commit is counted in the step after it. A refund
 * applied from the POST /refunds answer, or by a webhook that overtook the answer,
 * never passes through processing (its row then shows "-").
 */
import type pg from "pg";
import { percentile, round } from "./stats.ts";

export interface RefundSpans {
  refunds: number;
  /** Step name → p50/p99 in ms (null when no refund went through that step). */
  steps: Record<string, { p50_ms: number; p99_ms: number } | null>;
}

const SPANS = `
with f as (
  select f.id, f.order_id,
    (select at from settle.state_transitions where entity = 'refunds' and entity_id = f.id and from_status is null) as inserted,
    (select at from settle.state_transitions where entity = 'refunds' and entity_id = f.id and to_status = 'processing') as processing,
    (select at from settle.state_transitions where entity = 'refunds' and entity_id = f.id and to_status = 'succeeded') as succeeded,
    (select min(received_at) from settle.webhook_events
      where provider = 'hyperswitch' and event_type = 'refund_succeeded' and payload->'content'->'object'->>'refund_id' = f.id::text) as webhook_received
  from settle.refunds f where f.order_id = any($1::uuid[])),
r as (
  select v.refund_id,
    max(s_in.at) as reversal_inserted,
    max(s_out.at) as reversed
  from settle.transfer_reversals v
  join settle.state_transitions s_in on s_in.entity = 'transfer_reversals' and s_in.entity_id = v.id and s_in.from_status is null
  join settle.state_transitions s_out on s_out.entity = 'transfer_reversals' and s_out.entity_id = v.id and s_out.to_status = 'reversed'
  where v.refund_id in (select id from f)
  group by v.refund_id)
select
  extract(epoch from f.processing - f.inserted) * 1000 as "insert → processing (Hyperswitch POST)",
  extract(epoch from f.webhook_received - coalesce(f.processing, f.inserted)) * 1000 as "insert or processing → webhook stored",
  extract(epoch from f.succeeded - coalesce(f.webhook_received, f.processing, f.inserted)) * 1000 as "→ refund succeeded (applied)",
  extract(epoch from r.reversal_inserted - f.succeeded) * 1000 as "succeeded → reversals inserted",
  extract(epoch from r.reversed - r.reversal_inserted) * 1000 as "reversals inserted → last reversed (job + Stripe)",
  extract(epoch from r.reversed - f.inserted) * 1000 as "insert → last reversed"
from f join r on r.refund_id = f.id`;

export async function refundSpans(
  pool: pg.Pool,
  orderIds: readonly string[],
): Promise<RefundSpans> {
  const { rows } = await pool.query<Record<string, number | null>>(SPANS, [orderIds]);
  const names = rows[0] ? Object.keys(rows[0]) : [];
  const steps: RefundSpans["steps"] = {};
  for (const name of names) {
    const values = rows
      .map((row) => row[name])
      .filter((v): v is number => v !== null)
      .map(Number)
      .sort((a, b) => a - b);
    steps[name] = values.length
      ? { p50_ms: round(percentile(values, 50)), p99_ms: round(percentile(values, 99)) }
      : null;
  }
  return { refunds: rows.length, steps };
}
