/**
 * Whole lists out of Hyperswitch's pages, each paged the only way its endpoint
 * allows (see fake/lists.ts for the router's rules):
 *
 * Payments: GET /payments/list has no offset, and with `created.gte` set the
 * router ignores `starting_after`. So the walk pages down with `ending_before` =
 * the page's last (oldest) payment, which the router reads inclusively: each
 * page repeats the cursor, and repeats are dropped. A full page bringing nothing
 * new means more than a page of payments share one creation instant: the walk
 * cannot get past them and says so rather than stopping short.
 *
 * Refunds: POST /refunds/list pages by offset over refunds ordered by last update,
 * so a refund updated during the walk moves to the front and shifts the rest: one
 * may be skipped (and another repeated). The answer's total_count shows it: a walk
 * that saw fewer distinct refunds than the total is walked again, merging.
 */
import type { HyperswitchClient } from "./client.ts";
import type { Payment, Refund } from "./types.ts";

/** The router's maximum page for both lists. */
export const MAX_PAGE = 100;
/** Walks of the refund list before giving up on a list that keeps moving. */
const REFUND_WALKS = 3;

export interface WalkOptions {
  /** (Default: 100, the maximum) */
  pageSize?: number;
  /** Called before each request, e.g. to take a rate-limit slot. */
  beforeRequest?: () => Promise<void>;
}

/** Every payment created at or after `since`, newest first. */
export async function paymentsSince(
  client: HyperswitchClient,
  since: Date,
  options: WalkOptions = {},
): Promise<Payment[]> {
  const limit = options.pageSize ?? MAX_PAGE;
  const seen = new Map<string, Payment>();
  let cursor: string | undefined;
  for (;;) {
    await options.beforeRequest?.();
    const page = await client.listPayments({ limit, createdGte: since, endingBefore: cursor });
    let fresh = 0;
    for (const payment of page.data) {
      if (seen.has(payment.payment_id)) continue;
      seen.set(payment.payment_id, payment);
      fresh++;
    }
    const last = page.data.at(-1);
    if (page.data.length < limit || !last) return [...seen.values()];
    if (fresh === 0) {
      throw new Error(
        `GET /payments/list: a full page of ${limit} payments created at or before ${cursor} brought nothing new: ` +
          "more payments than a page share one creation time; retry with a larger page",
      );
    }
    cursor = last.payment_id;
  }
}

/** Every refund created at or after `since`. */
export async function refundsSince(
  client: HyperswitchClient,
  since: Date,
  options: WalkOptions = {},
): Promise<Refund[]> {
  const limit = options.pageSize ?? MAX_PAGE;
  const seen = new Map<string, Refund>();
  let total = 0;
  for (let walk = 1; walk <= REFUND_WALKS; walk++) {
    for (let offset = 0; ; offset += limit) {
      await options.beforeRequest?.();
      const page = await client.listRefunds({ limit, offset, createdFrom: since });
      // A later walk's copy is the fresher one.
      for (const refund of page.data) seen.set(refund.refund_id, refund);
      total = page.total_count;
      if (page.data.length < limit) break;
    }
    if (seen.size >= total) return [...seen.values()];
  }
  throw new Error(
    `POST /refunds/list: ${REFUND_WALKS} walks saw ${seen.size} distinct refunds of ${total}: ` +
      "the list kept moving under the offsets; retry when refunds are quieter",
  );
}
