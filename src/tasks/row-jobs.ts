/**
 * What the jobs that act on one row share.
 */

/**
 * The row is held by another transaction (a run of the same job in flight, a
 * refund shrinking a transfer): this run fails so that graphile-worker retries it
 * in a few seconds, instead of completing without having done anything.
 */
export class RowBusy extends Error {
  override name = "RowBusy";
}

/** int8 minor units to the number the SDKs send; refuse what a double cannot hold exactly. */
export function safeAmount(amount: bigint): number {
  if (amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`amount ${amount} is not a positive safe integer of minor units`);
  }
  return Number(amount);
}
