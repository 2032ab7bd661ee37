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

/** Where a row's keyed call stands: the key attempt in use, and whether an earlier call may have made the object. */
export interface CallAttempt {
  keyAttempt: number;
  mayExist: boolean;
}

/**
 * The row's Stripe call, made at most once. After an unknown outcome the earlier
 * call may have made the object: it is looked up first and adopted when found;
 * when it is not, the call goes out under the next key attempt (under the old key
 * Stripe would replay the saved failure). `attempt` is updated as this goes, so
 * that a failure is recorded with the key and the doubt of that moment.
 */
export async function adoptOrMake(
  attempt: CallAttempt,
  lookUp: () => Promise<{ id: string } | null>,
  make: (keyAttempt: number) => Promise<string>,
): Promise<{ pspId: string; adopted: boolean }> {
  if (attempt.mayExist) {
    const found = await lookUp();
    if (found) return { pspId: found.id, adopted: true };
    attempt.keyAttempt += 1;
    attempt.mayExist = false;
  }
  return { pspId: await make(attempt.keyAttempt), adopted: false };
}
