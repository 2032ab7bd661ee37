/**
 * The fake's memory: payments and refunds by id, the merchant they belong to, and
 * the hook through which every status change reaches the webhook emitter.
 */
import { monotonicClock, type WirePayment, type WireRefund } from "./objects.ts";

export type Change =
  | { kind: "payment"; object: WirePayment }
  | { kind: "refund"; object: WireRefund };

export interface FakeState {
  readonly merchantId: string;
  readonly profileId: string;
  readonly payments: Map<string, WirePayment>;
  readonly refunds: Map<string, WireRefund>;
  /** ISO-8601, strictly increasing. */
  now(): string;
  /** Called after each status change with the object as it now is. */
  changed(change: Change): void;
}

export function createState(options: {
  merchantId: string;
  profileId: string;
  onChange: (change: Change) => void;
}): FakeState {
  return {
    merchantId: options.merchantId,
    profileId: options.profileId,
    payments: new Map(),
    refunds: new Map(),
    now: monotonicClock(),
    changed: options.onChange,
  };
}

/** A copy: what leaves the fake (answers, webhooks, accessors) must not alias its state. */
export function snapshot<T>(object: T): T {
  return structuredClone(object);
}
