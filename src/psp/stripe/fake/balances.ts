/**
 * Money held per account and currency in the fake Stripe. Transfers move it from
 * the platform to a connected account, reversals move it back (and need the
 * connected account to still hold it: that is how a reversal meets
 * `balance_insufficient`), payouts take it out of an account. The platform's
 * balance is unlimited until a test sets one; a connected account starts at 0.
 */
import { StripeApiError } from "./wire.ts";

/** The account a request acts for: a connected account id, or the platform (null). */
export type AccountRef = string | null;

const PLATFORM = "platform";

export class Balances {
  /** account → currency → amount; a missing platform entry is unlimited. */
  #amounts = new Map<string, Map<string, number>>();

  /** null: unlimited (the platform, until a test sets its balance). */
  get(account: AccountRef, currency: string): number | null {
    const amount = this.#amounts.get(account ?? PLATFORM)?.get(currency.toLowerCase());
    if (amount !== undefined) return amount;
    return account === null ? null : 0;
  }

  set(account: AccountRef, currency: string, amount: number): void {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new RangeError(`a balance is a non-negative integer in minor units, got ${amount}`);
    }
    const key = account ?? PLATFORM;
    const byCurrency = this.#amounts.get(key) ?? new Map<string, number>();
    byCurrency.set(currency.toLowerCase(), amount);
    this.#amounts.set(key, byCurrency);
  }

  covers(account: AccountRef, currency: string, amount: number): boolean {
    const current = this.get(account, currency);
    return current === null || current >= amount;
  }

  move(account: AccountRef, currency: string, delta: number): void {
    const current = this.get(account, currency);
    if (current === null) return; // unlimited
    this.set(account, currency, current + delta);
  }

  all(): Record<string, Record<string, number>> {
    return Object.fromEntries(
      [...this.#amounts].map(([account, byCurrency]) => [account, Object.fromEntries(byCurrency)]),
    );
  }

  reset(): void {
    this.#amounts.clear();
  }
}

/** 400 `balance_insufficient`, an outcome of execution: saved under the key. */
export function insufficient(message: string): StripeApiError {
  return new StripeApiError(
    400,
    { type: "invalid_request_error", code: "balance_insufficient", message },
    true,
  );
}
