/**
 * `settle replay-webhook <event>`: processes a stored webhook event again. The
 * event is marked unprocessed and its job (`webhook_events__process`, job key
 * `webhook_events:<id>`) enqueued, in one transaction: a worker picks it up, and
 * the task's own checks make a replay of an already applied event change nothing
 * that should not change. The event is named by its settle.webhook_events.id, or
 * by the PSP's event id (with --provider when both PSPs used the same id).
 */
import { Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { TASK } from "../tasks/webhook_events__process.ts";
import { withSession } from "./session.ts";

const ACTOR = "cli:replay-webhook";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PROVIDERS = ["hyperswitch", "stripe"] as const;

const Event = z.object({
  id: z.string(),
  provider: z.string(),
  event_id: z.string(),
  event_type: z.string().nullable(),
  processed_at: z.number().nullable(),
});

const provider = (value: string) => {
  if (!(PROVIDERS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${PROVIDERS.join(", ")}`);
  }
  return value;
};

export function replayWebhookCommand(): Command {
  const command = new Command("replay-webhook");
  return command
    .description("Mark a stored webhook event unprocessed and enqueue its processing job.")
    .argument("<event>", "settle.webhook_events.id (uuid), or the PSP's event id (e.g. evt_…)")
    .option(
      "--provider <provider>",
      `look <event> up as this PSP's event id (${PROVIDERS.join(", ")})`,
      provider,
    )
    .option("--reason <text>", "why, for the audit trail", "operator replay")
    .addHelpText(
      "after",
      "\nExit codes: 0 enqueued, 1 unknown event or failure, 2 bad usage (e.g. an event id both PSPs used: add --provider).",
    )
    .action(async (event: string, options: { provider?: string; reason: string }) => {
      await withSession("replay-webhook", async ({ db }) => {
        const byId = options.provider === undefined && UUID.test(event);
        const matches = await db.any(sql.type(Event)`
          select id, provider, event_id, event_type, processed_at from settle.webhook_events
          where ${
            byId
              ? sql.fragment`id = ${event}::uuid`
              : sql.fragment`event_id = ${event}
                  and (${options.provider ?? null}::text is null or provider = ${options.provider ?? null})`
          }`);
        if (matches.length === 0) {
          const where = options.provider ? ` from ${options.provider}` : "";
          throw new Error(
            `no webhook event ${JSON.stringify(event)}${where} in settle.webhook_events`,
          );
        }
        if (matches.length > 1) {
          // Bad usage (exit 2) rather than a failure: the command line was ambiguous.
          command.error(
            `error: event id ${JSON.stringify(event)} exists for ${matches.map((m) => m.provider).join(" and ")}: ` +
              "name one with --provider",
            { exitCode: 2, code: "settle.ambiguousEvent" },
          );
        }
        const found = matches[0] as z.infer<typeof Event>;
        await db.transaction(async (tx) => {
          await tx.query(sql.type(z.object({}))`
            select set_config('settle.actor', ${ACTOR}, true) as _,
                   set_config('settle.reason', ${options.reason}, true) as __`);
          await tx.query(sql.type(z.object({ id: z.string() }))`
            update settle.webhook_events set processed_at = null where id = ${found.id} returning id`);
          // The same job key as the insert trigger and the sweeper: a job still
          // waiting for this event is replaced, not doubled.
          await tx.query(sql.type(z.object({}))`
            select settle_private.enqueue(${TASK}, json_build_object('id', ${found.id}::uuid), now(),
              ${`webhook_events:${found.id}`}) as _`);
        });
        const was = found.processed_at === null ? "was not processed yet" : "was processed";
        console.log(
          `replayed ${found.provider} event ${found.event_id} (${found.event_type ?? "no type"}, id ${found.id}): ` +
            `${was}; now unprocessed, job ${TASK} enqueued with key webhook_events:${found.id}`,
        );
      });
    });
}
