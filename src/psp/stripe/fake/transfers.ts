/**
 * Transfers and their reversals in the fake Stripe. A transfer moves money from
 * its owner (the platform, or a connected account acting via Stripe-Account) to
 * its destination; a reversal moves it back. Objects are Stripe's own types, so
 * the compiler holds the fake to their shape.
 */
import type Stripe from "stripe";
import { type AccountRef, type Balances, insufficient } from "./balances.ts";
import { unixSeconds } from "./clock.ts";
import { type Page, type PageRequest, paginate } from "./pagination.ts";
import type { CreatedFilter } from "./params.ts";
import { newId, noSuch, StripeApiError } from "./wire.ts";

interface TransferRecord {
  seq: number;
  /** Who made the transfer (the platform, or a connected account via Stripe-Account). */
  owner: AccountRef;
  transfer: Omit<Stripe.Transfer, "reversals">;
  reversals: Stripe.TransferReversal[];
}

export interface TransferInput {
  amount: number;
  currency: string;
  destination: string;
  transferGroup: string | null;
  description: string | null;
  metadata: Record<string, string>;
}

export class TransferBook {
  #transfers = new Map<string, TransferRecord>();
  #seq = 0;

  constructor(
    private readonly balances: Balances,
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.#transfers.clear();
    this.#seq = 0;
  }

  create(owner: AccountRef, input: TransferInput): Stripe.Transfer {
    if (!this.balances.covers(owner, input.currency, input.amount)) {
      throw insufficient(
        "Insufficient funds in Stripe account. In test mode, you can add funds to your available balance (bypassing your pending balance) by creating a charge with 4000 0000 0000 0077 as the card number.",
      );
    }
    const id = newId("tr");
    const transfer: Omit<Stripe.Transfer, "reversals"> = {
      id,
      object: "transfer",
      amount: input.amount,
      amount_reversed: 0,
      balance_transaction: newId("txn"),
      created: unixSeconds(this.now()),
      currency: input.currency,
      description: input.description,
      destination: input.destination,
      destination_payment: newId("py"),
      livemode: false,
      metadata: input.metadata,
      reversed: false,
      source_transaction: null,
      source_type: "card",
      transfer_group: input.transferGroup,
    };
    this.#transfers.set(id, { seq: ++this.#seq, owner, transfer, reversals: [] });
    this.balances.move(owner, input.currency, -input.amount);
    this.balances.move(input.destination, input.currency, input.amount);
    return this.#render(this.#transfers.get(id)!);
  }

  retrieve(owner: AccountRef, id: string): Stripe.Transfer {
    return this.#render(this.#find(owner, id));
  }

  /**
   * Stripe has no error code for "already reversed": a 400 invalid_request_error
   * without one. The amount check names its parameter; the balance check has its
   * code, `balance_insufficient`. All three are outcomes of execution: saved.
   */
  reverse(
    owner: AccountRef,
    transferId: string,
    amount: number | null,
    metadata: Record<string, string>,
  ): { reversal: Stripe.TransferReversal; transfer: Stripe.Transfer } {
    const record = this.#find(owner, transferId);
    const { transfer } = record;
    const left = transfer.amount - transfer.amount_reversed;
    if (transfer.reversed || left === 0) {
      throw new StripeApiError(
        400,
        {
          type: "invalid_request_error",
          message: `The transfer ${transfer.id} is already fully reversed.`,
        },
        true,
      );
    }
    const take = amount ?? left;
    if (take > left) {
      throw new StripeApiError(
        400,
        {
          type: "invalid_request_error",
          param: "amount",
          message: `Amount ${take} is greater than the amount left to reverse on transfer ${transfer.id} (${left}).`,
        },
        true,
      );
    }
    const destination = transfer.destination as string;
    if (!this.balances.covers(destination, transfer.currency, take)) {
      throw insufficient(
        `The connected account ${destination} has insufficient funds to cover this reversal.`,
      );
    }
    const reversal: Stripe.TransferReversal = {
      id: newId("trr"),
      object: "transfer_reversal",
      amount: take,
      balance_transaction: newId("txn"),
      created: unixSeconds(this.now()),
      currency: transfer.currency,
      destination_payment_refund: newId("pyr"),
      metadata,
      source_refund: null,
      transfer: transfer.id,
    };
    record.reversals.push(reversal);
    transfer.amount_reversed += take;
    transfer.reversed = transfer.amount_reversed === transfer.amount;
    this.balances.move(destination, transfer.currency, -take);
    this.balances.move(owner, transfer.currency, take);
    return { reversal, transfer: this.#render(record) };
  }

  listReversals(
    owner: AccountRef,
    transferId: string,
    page: PageRequest,
  ): Page<Stripe.TransferReversal> {
    const record = this.#find(owner, transferId);
    return paginate([...record.reversals].reverse(), page, "transfer reversal");
  }

  retrieveReversal(owner: AccountRef, transferId: string, id: string): Stripe.TransferReversal {
    const reversal = this.#find(owner, transferId).reversals.find((r) => r.id === id);
    if (!reversal) throw noSuch("transfer reversal", id);
    return reversal;
  }

  list(
    owner: AccountRef,
    filter: {
      destination: string | null;
      transferGroup: string | null;
      created: CreatedFilter | null;
    },
    page: PageRequest,
  ): Page<Stripe.Transfer> {
    const matching = [...this.#transfers.values()]
      .filter(
        (r) =>
          r.owner === owner &&
          (filter.destination === null || r.transfer.destination === filter.destination) &&
          (filter.transferGroup === null || r.transfer.transfer_group === filter.transferGroup) &&
          inRange(r.transfer.created, filter.created),
      )
      .sort(newestFirst)
      .map((r) => this.#render(r));
    return paginate(matching, page, "transfer");
  }

  /**
   * Every transfer with all its reversals (not Stripe's 10 newest), oldest first:
   * the fake's own books, for a chaos run to compare with ours.
   */
  ledger(): Array<{
    owner: AccountRef;
    transfer: Omit<Stripe.Transfer, "reversals">;
    reversals: Stripe.TransferReversal[];
  }> {
    return [...this.#transfers.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) =>
        structuredClone({ owner: r.owner, transfer: r.transfer, reversals: r.reversals }),
      );
  }

  /** Every transfer, newest first (for tests and the inspection control). */
  all(): Stripe.Transfer[] {
    return [...this.#transfers.values()].sort(newestFirst).map((r) => this.#render(r));
  }

  #find(owner: AccountRef, id: string): TransferRecord {
    const record = this.#transfers.get(id);
    if (!record || record.owner !== owner) throw noSuch("transfer", id);
    return record;
  }

  /** A transfer carries its 10 most recent reversals, newest first, as Stripe's does. */
  #render(record: TransferRecord): Stripe.Transfer {
    const newest = [...record.reversals].reverse();
    return {
      ...structuredClone(record.transfer),
      reversals: {
        object: "list",
        data: structuredClone(newest.slice(0, 10)),
        has_more: newest.length > 10,
        url: `/v1/transfers/${record.transfer.id}/reversals`,
      },
    };
  }
}

function newestFirst(a: { seq: number; transfer: { created: number } }, b: typeof a): number {
  return b.transfer.created - a.transfer.created || b.seq - a.seq;
}

/** Stripe's `created` range filter; payouts.ts lists by it too. */
export function inRange(created: number, filter: CreatedFilter | null): boolean {
  if (!filter) return true;
  return (
    (filter.gt === undefined || created > filter.gt) &&
    (filter.gte === undefined || created >= filter.gte) &&
    (filter.lt === undefined || created < filter.lt) &&
    (filter.lte === undefined || created <= filter.lte)
  );
}
