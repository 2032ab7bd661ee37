/**
 * The state machines exactly as SPEC §4 writes them, typed out independently of the
 * SQL so that the tests compare the database against the contract, not against itself.
 */
export interface Machine {
  statuses: string[];
  initial: string;
  allowed: Array<[from: string, to: string]>;
}

const pairs = (from: string, ...to: string[]): Array<[string, string]> => to.map((t) => [from, t]);

export const MACHINES: Record<string, Machine> = {
  orders: {
    statuses: [
      "pending",
      "payment_pending",
      "paid",
      "failed",
      "cancelled",
      "partially_refunded",
      "refunded",
    ],
    initial: "pending",
    allowed: [
      ...pairs("pending", "payment_pending", "cancelled"),
      ...pairs("payment_pending", "paid", "failed", "cancelled"),
      ...pairs("paid", "partially_refunded", "refunded"),
      ...pairs("partially_refunded", "partially_refunded", "refunded"),
    ],
  },
  refunds: {
    statuses: ["pending", "processing", "succeeded", "failed"],
    initial: "pending",
    allowed: [
      ...pairs("pending", "processing", "succeeded", "failed"),
      ...pairs("processing", "succeeded", "failed"),
    ],
  },
  seller_transfers: {
    statuses: [
      "pending",
      "completed",
      "failed",
      "permanently_failed",
      "cancelled",
      "partially_reversed",
      "reversed",
    ],
    initial: "pending",
    allowed: [
      ...pairs("pending", "completed", "failed", "permanently_failed", "cancelled"),
      ...pairs("failed", "completed", "failed", "permanently_failed", "cancelled"),
      ...pairs("permanently_failed", "pending", "cancelled"),
      ...pairs("completed", "partially_reversed", "reversed"),
      ...pairs("partially_reversed", "partially_reversed", "reversed"),
    ],
  },
  transfer_reversals: {
    statuses: ["pending", "reversed", "permanently_failed"],
    initial: "pending",
    allowed: [
      ...pairs("pending", "pending", "reversed", "permanently_failed"),
      ...pairs("permanently_failed", "pending"),
    ],
  },
  seller_payouts: {
    statuses: ["pending", "in_transit", "paid", "failed", "canceled"],
    initial: "pending",
    allowed: [
      ...pairs("pending", "in_transit", "paid", "failed", "canceled"),
      ...pairs("in_transit", "paid", "failed"),
    ],
  },
  subscriptions: {
    statuses: ["incomplete", "incomplete_expired", "active", "past_due", "canceled"],
    initial: "incomplete",
    allowed: [
      ...pairs("incomplete", "active", "incomplete_expired"),
      ...pairs("active", "active", "past_due", "canceled"),
      ...pairs("past_due", "active", "canceled"),
    ],
  },
  subscription_invoices: {
    statuses: ["pending", "paid", "failed", "uncollectible"],
    initial: "pending",
    allowed: [
      ...pairs("pending", "paid", "failed"),
      ...pairs("failed", "pending", "uncollectible"),
    ],
  },
};

export const isAllowed = (m: Machine, from: string, to: string) =>
  m.allowed.some(([f, t]) => f === from && t === to);

/** Shortest chain of allowed transitions from the initial status to `target`. */
export function pathTo(m: Machine, target: string): string[] {
  const previous = new Map<string, string | null>([[m.initial, null]]);
  const queue = [m.initial];
  while (queue.length) {
    const at = queue.shift()!;
    if (at === target) break;
    for (const [from, to] of m.allowed) {
      if (from === at && !previous.has(to)) {
        previous.set(to, at);
        queue.push(to);
      }
    }
  }
  if (!previous.has(target)) throw new Error(`${target} is unreachable`);
  const path: string[] = [];
  for (let s: string | null | undefined = target; s && s !== m.initial; s = previous.get(s)) {
    path.unshift(s);
  }
  return path;
}
