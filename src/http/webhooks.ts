/**
 * Webhooks in (SPEC §5): the signature is checked on the raw body before anything
 * else; a bad one gets 401 and nothing is stored. A verified event is inserted into
 * settle.webhook_events, whose insert trigger enqueues its processing job in the
 * same statement, and only then answered 200 (Stripe's transfer.* events, which
 * only confirm our own calls, are stored processed and get no job). A redelivered event_id is answered
 * 200 without a second row or job. Processing happens in the job, never here:
 * the PSP's delivery must not wait on, or fail because of, our business logic.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import type { Logger } from "../log.ts";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "../psp/hyperswitch/webhooks.ts";
import { confirmsOwnCall } from "../psp/stripe/confirmation-events.ts";
import type { StripeService } from "../psp/stripe/service.ts";

/** Real PSP events are a few kB; anything near this is not one of them. */
export const WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface WebhookEndpointOptions {
  pool: pg.Pool;
  logger: Logger;
  hyperswitchSecret: string;
  stripeSecret: string;
  stripe: StripeService;
}

interface VerifiedEvent {
  eventId: string;
  eventType: string;
  payload: unknown;
}

class Rejection extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function makeWebhookEndpoints(options: WebhookEndpointOptions): {
  hyperswitch: WebhookHandler;
  stripe: WebhookHandler;
} {
  const log = options.logger.child({ component: "webhooks" });

  const verifyHyperswitch = (raw: Buffer, req: IncomingMessage): VerifiedEvent => {
    if (!verifyWebhookSignature(raw, req.headers[SIGNATURE_HEADER], options.hyperswitchSecret)) {
      throw new Rejection(401, `missing or invalid ${SIGNATURE_HEADER}`);
    }
    const body = parseJson(raw) as { event_id?: unknown; event_type?: unknown };
    if (typeof body?.event_id !== "string" || body.event_id.trim() === "") {
      throw new Rejection(400, "event_id: a non-empty string is required");
    }
    if (typeof body.event_type !== "string")
      throw new Rejection(400, "event_type: a string is required");
    return { eventId: body.event_id, eventType: body.event_type, payload: body };
  };

  const verifyStripe = (raw: Buffer, req: IncomingMessage): VerifiedEvent => {
    const header = req.headers["stripe-signature"];
    let event: { id: string; type: string };
    try {
      event = options.stripe.constructEvent(
        raw,
        typeof header === "string" ? header : null,
        options.stripeSecret,
      );
    } catch (error) {
      throw new Rejection(401, error instanceof Error ? error.message : "invalid Stripe-Signature");
    }
    return { eventId: event.id, eventType: event.type, payload: event };
  };

  const endpoint =
    (
      provider: "hyperswitch" | "stripe",
      verify: (raw: Buffer, req: IncomingMessage) => VerifiedEvent,
    ): WebhookHandler =>
    async (req, res) => {
      try {
        const raw = await readBody(req);
        const event = verify(raw, req);
        // An event that needs no processing is stored processed, and gets no job.
        const processed = provider === "stripe" && confirmsOwnCall(event.eventType);
        const { rowCount } = await options.pool.query(
          `insert into settle.webhook_events (provider, event_id, event_type, payload, processed_at)
           values ($1, $2, $3, $4, case when $5 then now() end) on conflict (provider, event_id) do nothing`,
          [provider, event.eventId, event.eventType, JSON.stringify(event.payload), processed],
        );
        const duplicate = rowCount === 0;
        log.info(
          { provider, eventId: event.eventId, type: event.eventType, duplicate },
          "webhook received",
        );
        send(res, 200, { received: true, duplicate });
      } catch (error) {
        if (error instanceof Rejection) {
          log.warn({ provider, status: error.status, reason: error.message }, "webhook rejected");
          send(res, error.status, { error: error.message });
          return;
        }
        throw error;
      }
    };

  return {
    hyperswitch: endpoint("hyperswitch", verifyHyperswitch),
    stripe: endpoint("stripe", verifyStripe),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > WEBHOOK_BODY_LIMIT)
    throw new Rejection(413, `body above ${WEBHOOK_BODY_LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > WEBHOOK_BODY_LIMIT)
      throw new Rejection(413, `body above ${WEBHOOK_BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new Rejection(400, "body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}
