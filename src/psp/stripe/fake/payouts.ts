/**
 * Payouts in the fake Stripe: money leaving an account (the connected account of
 * the Stripe-Account header) for its bank, and the bank's later answer, which a
 * test gives with `settle` (paid, failed, canceled).
 */
import type Stripe from "stripe";
import { type AccountRef, type Balances, insufficient } from "./balances.ts";
import { unixSeconds } from "./clock.ts";
import { type Page, type PageRequest, paginate } from "./pagination.ts";
import type { CreatedFilter } from "./params.ts";
import { inRange } from "./transfers.ts";
import { newId, noSuch } from "./wire.ts";

interface PayoutRecord {
  seq: number;
  account: AccountRef;
  payout: Stripe.Payout;
}

export interface PayoutInput {
  amount: number;
  currency: string;
  description: string | null;
  method: string;
  statementDescriptor: string | null;
  metadata: Record<string, string>;
}

export type PayoutOutcome = "paid" | "failed" | "canceled";

export class PayoutBook {
  #payouts = new Map<string, PayoutRecord>();
  #seq = 0;

  constructor(
    private readonly balances: Balances,
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.#payouts.clear();
    this.#seq = 0;
  }

  create(account: AccountRef, input: PayoutInput): Stripe.Payout {
    if (!this.balances.covers(account, input.currency, input.amount)) {
      throw insufficient(
        `The account has insufficient funds in ${input.currency} for this payout.`,
      );
    }
    const created = unixSeconds(this.now());
    const payout: Stripe.Payout = {
      id: newId("po"),
      object: "payout",
      amount: input.amount,
      application_fee: null,
      application_fee_amount: null,
      arrival_date: created + 2 * 86_400,
      automatic: false,
      balance_transaction: newId("txn"),
      created,
      currency: input.currency,
      description: input.description,
      destination: newId("ba"),
      failure_balance_transaction: null,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: input.metadata,
      method: input.method,
      original_payout: null,
      payout_method: null,
      reconciliation_status: "not_applicable",
      reversed_by: null,
      source_type: "card",
      statement_descriptor: input.statementDescriptor,
      status: "pending",
      trace_id: null,
      type: "bank_account",
    };
    this.#payouts.set(payout.id, { seq: ++this.#seq, account, payout });
    // Stripe debits the balance when the payout is created, and returns the
    // money if the payout fails or is canceled.
    this.balances.move(account, input.currency, -input.amount);
    return structuredClone(payout);
  }

  retrieve(account: AccountRef, id: string): Stripe.Payout {
    const record = this.#payouts.get(id);
    if (!record || record.account !== account) throw noSuch("payout", id);
    return structuredClone(record.payout);
  }

  /** An account's payouts, newest first, as GET /v1/payouts with `Stripe-Account` lists them. */
  list(account: AccountRef, created: CreatedFilter | null, page: PageRequest): Page<Stripe.Payout> {
    const matching = [...this.#payouts.values()]
      .filter((r) => r.account === account && inRange(r.payout.created, created))
      .sort((a, b) => b.payout.created - a.payout.created || b.seq - a.seq)
      .map((r) => structuredClone(r.payout));
    return paginate(matching, page, "payout");
  }

  /**
   * What the bank does later. `canceled` only while pending; `failed` also after
   * `paid` ("some payouts that fail might initially show as paid").
   */
  settle(
    id: string,
    outcome: PayoutOutcome,
    failure: { code: string; message: string } = {
      code: "account_closed",
      message: "The bank account has been closed.",
    },
  ): { payout: Stripe.Payout; account: AccountRef } {
    const record = this.#payouts.get(id);
    if (!record) throw new Error(`no payout ${id}`);
    const { payout } = record;
    const allowed: Record<PayoutOutcome, string[]> = {
      paid: ["pending", "in_transit"],
      failed: ["pending", "in_transit", "paid"],
      canceled: ["pending"],
    };
    if (!allowed[outcome].includes(payout.status)) {
      throw new Error(`payout ${id} cannot go from ${payout.status} to ${outcome}`);
    }
    payout.status = outcome;
    if (outcome === "failed") {
      payout.failure_code = failure.code;
      payout.failure_message = failure.message;
      payout.failure_balance_transaction = newId("txn");
    }
    if (outcome !== "paid") this.balances.move(record.account, payout.currency, payout.amount);
    return { payout: structuredClone(payout), account: record.account };
  }

  /** Every payout with the account it left, oldest first (the fake's books). */
  ledger(): Array<{ account: AccountRef; payout: Stripe.Payout }> {
    return [...this.#payouts.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) => structuredClone({ account: r.account, payout: r.payout }));
  }

  all(): Stripe.Payout[] {
    return [...this.#payouts.values()]
      .sort((a, b) => b.seq - a.seq)
      .map((r) => structuredClone(r.payout));
  }
}
