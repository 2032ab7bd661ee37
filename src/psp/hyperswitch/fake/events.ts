/**
 * Outgoing webhooks as the router builds them (psp-facts A4): one event per
 * (object, event_type) at most, for the statuses a default business profile
 * notifies (payments succeeded/failed, refunds succeeded/failed), as
 * `{merchant_id, event_id, event_type, content: {type, object}, timestamp}`,
 * serialized once and signed over those exact bytes with X-Webhook-Signature-512.
 * Redeliveries resend the stored body, so `event_id` is stable across them.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { WebhookSender } from "../../fake/webhooks.ts";
import type { Change, FakeState } from "./state.ts";

export interface EmittedEvent {
  eventId: string;
  eventType: string;
  objectId: string;
  /** The exact bytes that were signed and sent. */
  body: string;
}

const PAYMENT_EVENTS: Record<string, string> = {
  succeeded: "payment_succeeded",
  failed: "payment_failed",
  cancelled: "payment_cancelled",
};
const REFUND_EVENTS: Record<string, string> = {
  succeeded: "refund_succeeded",
  failed: "refund_failed",
};

export function signatureHeaders(secret: string): (body: string) => Record<string, string> {
  return (body) => ({
    "X-Webhook-Signature-512": createHmac("sha512", secret).update(body).digest("hex"),
  });
}

export interface EventLog {
  /** Turns a status change into an event, unless it has none or was already sent. */
  record(state: FakeState, change: Change): EmittedEvent | null;
  list(): EmittedEvent[];
  clear(): void;
}

export function createEventLog(sender: WebhookSender): EventLog {
  const byObjectAndType = new Map<string, EmittedEvent>();
  let events: EmittedEvent[] = [];
  return {
    record(state, change) {
      const isPayment = change.kind === "payment";
      const objectId = isPayment ? change.object.payment_id : change.object.refund_id;
      const eventType = (isPayment ? PAYMENT_EVENTS : REFUND_EVENTS)[change.object.status];
      if (!eventType) return null;
      const dedupeKey = `${objectId}_${eventType}`;
      if (byObjectAndType.has(dedupeKey)) return null;
      const eventId = `evt_${randomBytes(12).toString("hex")}`;
      const body = JSON.stringify({
        merchant_id: state.merchantId,
        event_id: eventId,
        event_type: eventType,
        content: {
          type: isPayment ? "payment_details" : "refund_details",
          object: change.object,
        },
        timestamp: state.now(),
      });
      const event: EmittedEvent = { eventId, eventType, objectId, body };
      byObjectAndType.set(dedupeKey, event);
      events.push(event);
      sender.emit({ eventId, type: eventType, body });
      return event;
    },
    list: () => [...events],
    clear() {
      byObjectAndType.clear();
      events = [];
    },
  };
}
