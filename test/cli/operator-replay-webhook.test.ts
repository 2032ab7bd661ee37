/**
 * `npx settle replay-webhook`: a processed event, named by its row id or by the
 * PSP's event id, is marked unprocessed and its processing job enqueued (key
 * webhook_events:<id>); an unknown event exits 1 with a clear message, an event id
 * both PSPs used exits 2 until --provider names one.
 */
import test from "ava";
import type pg from "pg";
import { settle, world } from "./operator-support.ts";

/** A stored event as processed and its job done, the state a replay starts from. */
async function processedEvent(pool: pg.Pool, provider: string, eventId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into settle.webhook_events (provider, event_id, event_type, payload, processed_at, attempts)
     values ($1, $2, 'payment_succeeded', '{}', now(), 1) returning id`,
    [provider, eventId],
  );
  const id = rows[0]?.id as string;
  await pool.query("select graphile_worker.remove_job($1)", [`webhook_events:${id}`]);
  return id;
}

const state = async (pool: pg.Pool, id: string) => {
  const event = await pool.query<{ processed_at: Date | null }>(
    "select processed_at from settle.webhook_events where id = $1",
    [id],
  );
  // The jobs view leaves the payload out; the table behind it has it.
  const jobs = await pool.query<{ task_identifier: string; payload: unknown }>(
    `select k.identifier as task_identifier, j.payload
     from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id
     where j.key = $1`,
    [`webhook_events:${id}`],
  );
  return { processedAt: event.rows[0]?.processed_at ?? null, jobs: jobs.rows };
};

test("replays a processed event by id and by (provider, event id)", async (t) => {
  const w = await world(t);
  const id = await processedEvent(w.pool, "hyperswitch", "evt_replay_1");
  t.is((await state(w.pool, id)).jobs.length, 0);

  const byId = await settle(w, ["replay-webhook", id]);
  t.is(byId.code, 0, byId.output);
  t.regex(
    byId.output,
    /replayed hyperswitch event evt_replay_1 \(payment_succeeded, id [0-9a-f-]{36}\): was processed/,
  );
  t.deepEqual(await state(w.pool, id), {
    processedAt: null,
    jobs: [{ task_identifier: "webhook_events__process", payload: { id } }],
  });

  // Again, by the PSP's id: the waiting job is replaced, not doubled.
  const byEventId = await settle(w, [
    "replay-webhook",
    "evt_replay_1",
    "--provider",
    "hyperswitch",
  ]);
  t.is(byEventId.code, 0, byEventId.output);
  t.regex(byEventId.output, /was not processed yet/);
  t.is((await state(w.pool, id)).jobs.length, 1);
});

test("refuses an unknown event with exit 1, an ambiguous one with exit 2", async (t) => {
  const w = await world(t);
  const unknown = await settle(w, ["replay-webhook", "00000000-0000-4000-8000-000000000000"]);
  t.is(unknown.code, 1, unknown.output);
  t.regex(
    unknown.output,
    /no webhook event "00000000-0000-4000-8000-000000000000" in settle\.webhook_events/,
  );
  const unknownEvent = await settle(w, ["replay-webhook", "evt_nope", "--provider", "stripe"]);
  t.is(unknownEvent.code, 1, unknownEvent.output);
  t.regex(unknownEvent.output, /no webhook event "evt_nope" from stripe/);

  await processedEvent(w.pool, "hyperswitch", "evt_both");
  await processedEvent(w.pool, "stripe", "evt_both");
  const ambiguous = await settle(w, ["replay-webhook", "evt_both"]);
  t.is(ambiguous.code, 2, ambiguous.output);
  t.regex(
    ambiguous.output,
    /exists for (hyperswitch and stripe|stripe and hyperswitch): name one with --provider/,
  );
  const badProvider = await settle(w, ["replay-webhook", "evt_both", "--provider", "paypal"]);
  t.is(badProvider.code, 2, badProvider.output);
  t.regex(badProvider.output, /must be one of hyperswitch, stripe/);
});
