/**
 * Webhook delivery from a fake PSP to the merchant (us), as the real ones do it:
 * at least once (retried until a 2xx), signed, asynchronous (an event may arrive
 * before the API call that caused it has returned), and on demand with the habits
 * that break naive handlers: duplicates, delays, and reordering.
 */
import type { Logger } from "../../log.ts";

export interface WebhookBehaviour {
  /** Where events go; null: events are kept (see `outbox()`) but not sent. (Default: null) */
  url: string | null;
  /** Wait before the first attempt. (Default: 0) */
  delayMs: number;
  /** Extra copies of each event, sent after the first. (Default: 0) */
  duplicates: number;
  /** Hold events and send them newest first on `flush()`. (Default: false) */
  reorder: boolean;
  /** Attempts per event before giving up. (Default: 8) */
  maxAttempts: number;
  /** Wait between failed attempts (doubles each time). (Default: 100) */
  retryDelayMs: number;
  /** Chance that an event gets one extra copy, on top of `duplicates` (chaos runs). (Default: 0) */
  duplicateRate: number;
  /** Each delivery waits a random 0..jitterMs more, so events overtake each other. (Default: 0) */
  jitterMs: number;
}

export interface Delivery {
  eventId: string;
  type: string;
  body: string;
  attempts: number;
  /** The last HTTP status received, or null when none arrived. */
  lastStatus: number | null;
  delivered: boolean;
}

export interface WebhookSender {
  configure(patch: Partial<WebhookBehaviour>): WebhookBehaviour;
  /** Queues an event; delivery happens in the background. */
  emit(event: { eventId: string; type: string; body: string }): void;
  /** Sends the events held for reordering, newest first. */
  flush(): void;
  /** Resolves when every queued delivery has finished (delivered or given up). */
  drain(): Promise<void>;
  deliveries(): Delivery[];
  reset(): void;
}

const DEFAULTS: WebhookBehaviour = {
  url: null,
  delayMs: 0,
  duplicates: 0,
  reorder: false,
  maxAttempts: 8,
  retryDelayMs: 100,
  duplicateRate: 0,
  jitterMs: 0,
};

export function createWebhookSender(options: {
  /** Headers that sign this exact body. */
  sign: (body: string) => Record<string, string>;
  logger?: Logger;
  name: string;
  /** For duplicateRate and jitterMs; seedable so a chaos run can be repeated. (Default: Math.random) */
  random?: () => number;
}): WebhookSender {
  const random = options.random ?? Math.random;
  let behaviour: WebhookBehaviour = { ...DEFAULTS };
  let log: Delivery[] = [];
  let held: Delivery[] = [];
  const inFlight = new Set<Promise<void>>();

  async function deliver(delivery: Delivery, delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    for (let attempt = 1; attempt <= behaviour.maxAttempts; attempt++) {
      const url = behaviour.url;
      if (!url) return;
      delivery.attempts = attempt;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...options.sign(delivery.body) },
          body: delivery.body,
          signal: AbortSignal.timeout(10_000),
        });
        delivery.lastStatus = response.status;
        await response.arrayBuffer();
        if (response.ok) {
          delivery.delivered = true;
          return;
        }
      } catch (error) {
        delivery.lastStatus = null;
        options.logger?.debug(
          { err: error, fake: options.name, eventId: delivery.eventId },
          "webhook attempt failed",
        );
      }
      await new Promise((r) => setTimeout(r, behaviour.retryDelayMs * 2 ** (attempt - 1)));
    }
    options.logger?.warn({ fake: options.name, eventId: delivery.eventId }, "webhook given up");
  }

  function start(delivery: Delivery, delayMs: number): void {
    const p = deliver(delivery, delayMs).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  function send(event: { eventId: string; type: string; body: string }): void {
    const extra = behaviour.duplicateRate > 0 && random() < behaviour.duplicateRate ? 1 : 0;
    for (let copy = 0; copy <= behaviour.duplicates + extra; copy++) {
      const delivery: Delivery = { ...event, attempts: 0, lastStatus: null, delivered: false };
      log.push(delivery);
      const jitter = behaviour.jitterMs > 0 ? Math.floor(random() * behaviour.jitterMs) : 0;
      start(delivery, behaviour.delayMs + copy * 20 + jitter);
    }
  }

  return {
    configure(patch) {
      behaviour = { ...behaviour, ...patch };
      return behaviour;
    },
    emit(event) {
      if (behaviour.reorder) {
        held.push({ ...event, attempts: 0, lastStatus: null, delivered: false });
        return;
      }
      send(event);
    },
    flush() {
      const events = held.reverse();
      held = [];
      for (const event of events) send(event);
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    deliveries: () => log,
    reset() {
      behaviour = { ...DEFAULTS };
      log = [];
      held = [];
    },
  };
}
