/**
 * Stripe events as the fake sends them to our webhook endpoint: the event object
 * (`evt_…`, type, created, data.object, `account` for events of a connected
 * account) and the `Stripe-Signature` header, `t=<unix>,v1=<hex>` where v1 is
 * HMAC-SHA256 keyed by the endpoint secret over `"{t}.{raw body}"`.
 */
import { createHmac } from "node:crypto";
import { newId } from "./wire.ts";

export type FakeEventType =
  | "transfer.created"
  | "transfer.reversed"
  | "payout.paid"
  | "payout.failed"
  | "payout.canceled";

export interface FakeEvent {
  id: string;
  object: "event";
  /** The connected account the event happened on; absent for the platform's own. */
  account?: string;
  api_version: string;
  created: number;
  data: { object: unknown };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: FakeEventType;
}

export function buildEvent(input: {
  type: FakeEventType;
  object: unknown;
  account: string | null;
  created: number;
  apiVersion: string;
  request: { id: string | null; idempotencyKey: string | null };
}): FakeEvent {
  return {
    id: newId("evt"),
    object: "event",
    ...(input.account ? { account: input.account } : {}),
    api_version: input.apiVersion,
    created: input.created,
    data: { object: input.object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: input.request.id, idempotency_key: input.request.idempotencyKey },
    type: input.type,
  };
}

export function stripeSignature(secret: string, body: string, timestampSeconds: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${v1}`;
}
