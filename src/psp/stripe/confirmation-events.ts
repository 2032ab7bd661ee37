/**
 * Stripe events that only confirm what our own calls' answers already recorded:
 * transfers and reversals move by the answer of transfers.create /
 * createReversal (or the look-up after an unknown outcome), never by their
 * events. They are stored like every delivery, but already processed: a job per
 * transfer and per reversal that would change nothing is work the queue does
 * not need.
 */
export function confirmsOwnCall(eventType: string | null | undefined): boolean {
  return eventType?.startsWith("transfer.") ?? false;
}
