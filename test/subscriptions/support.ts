/**
 * Subscriptions against the task world (../tasks/support.ts): a real database, the
 * real fake Hyperswitch, and the clock the test moves. Webhooks are delivered the
 * way production stores them: the fake's emitted event body in webhook_events,
 * then the webhook task.
 */
import { randomUUID } from "node:crypto";
import type { Caller } from "../../src/flows/index.ts";
import { createSubscription } from "../../src/flows/subscriptions.ts";
import { makeChargeInvoice } from "../../src/tasks/subscription_invoices__charge.ts";
import { makeProcessWebhook } from "../../src/tasks/webhook_events__process.ts";
import { noHelpers, type World } from "../tasks/support.ts";

export const DAY = 86_400_000;
export const platform: Caller = { role: "settle_platform", "jwt.claims.role": "settle_platform" };

export interface Invoice {
  id: string;
  status: string;
  amount: string;
  currency: string;
  period_start: Date;
  period_end: Date;
  psp_payment_id: string | null;
  attempt_count: number;
  next_attempt_at: Date | null;
  last_error: string | null;
}

export interface Subscription {
  id: string;
  status: string;
  current_period_start: Date;
  current_period_end: Date;
}

export async function newSubscription(
  w: World,
  interval = "month",
): Promise<{ subId: string; buyerId: string }> {
  const buyer = await w.pool.query("insert into settle.buyers (email) values ($1) returning id", [
    `s-${randomUUID()}@x.example`,
  ]);
  const plan = await w.pool.query(
    "insert into settle.plans (name, amount, currency, interval) values ('Pro', 900, 'EUR', $1) returning id",
    [interval],
  );
  const buyerId: string = buyer.rows[0].id;
  const subId = await createSubscription(w.db, platform, { buyerId, planId: plan.rows[0].id });
  return { subId, buyerId };
}

export async function invoices(w: World, subId: string): Promise<Invoice[]> {
  const { rows } = await w.pool.query(
    "select * from settle.subscription_invoices where subscription_id = $1 order by period_start",
    [subId],
  );
  return rows;
}

export async function subscription(w: World, subId: string): Promise<Subscription> {
  const { rows } = await w.pool.query("select * from settle.subscriptions where id = $1", [subId]);
  return rows[0];
}

/** The waiting job of a row key, if any. */
export async function job(
  w: World,
  key: string,
): Promise<{ task_identifier: string; run_at: Date } | undefined> {
  const { rows } = await w.pool.query(
    "select task_identifier, run_at from graphile_worker.jobs where key = $1 and locked_at is null",
    [key],
  );
  return rows[0];
}

export const charge = (w: World, invoiceId: string) =>
  makeChargeInvoice(w.deps)({ id: invoiceId }, noHelpers);

/** The fake decides the payment's outcome; its webhook event is stored and processed. */
export async function settleAndDeliver(
  w: World,
  paymentId: string,
  status: "succeeded" | "failed",
): Promise<{ outcome: string | null }> {
  w.hyperswitchFake.settlePayment(paymentId, { status });
  const event = w.hyperswitchFake
    .events()
    .filter((e) => e.objectId === paymentId && e.eventType === `payment_${status}`)
    .at(-1);
  if (!event) throw new Error(`the fake emitted no payment_${status} for ${paymentId}`);
  const { rows } = await w.pool.query(
    "insert into settle.webhook_events (provider, event_id, event_type, payload) values ('hyperswitch', $1, $2, $3) returning id",
    [event.eventId, event.eventType, event.body],
  );
  await makeProcessWebhook(w.deps)({ id: rows[0].id }, noHelpers);
  const stored = await w.pool.query(
    "select last_error, processed_at from settle.webhook_events where id = $1",
    [rows[0].id],
  );
  return { outcome: stored.rows[0].processed_at ? stored.rows[0].last_error : "unprocessed" };
}

/** An active subscription: created, its first invoice charged and paid. */
export async function activeSubscription(w: World, interval = "month") {
  const created = await newSubscription(w, interval);
  const [first] = await invoices(w, created.subId);
  await charge(w, first!.id);
  await settleAndDeliver(w, first!.id, "succeeded");
  return { ...created, firstInvoiceId: first!.id };
}
