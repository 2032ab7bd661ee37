/**
 * Both sides of the books after the drain: the fakes' own ledgers (what Stripe
 * and Hyperswitch hold, and which keyed calls they executed) and our rows.
 */
import type { FakePsps } from "./fakes.ts";
import type { Watch } from "./watch.ts";

export interface StripeLedger {
  transfers: Array<{
    transfer: {
      id: string;
      amount: number;
      amount_reversed: number;
      currency: string;
      destination: string;
      metadata: Record<string, string>;
    };
    reversals: Array<{ id: string; amount: number; metadata: Record<string, string> }>;
  }>;
  payouts: Array<{
    account: string | null;
    payout: {
      id: string;
      amount: number;
      currency: string;
      status: string;
      metadata: Record<string, string>;
    };
  }>;
  executions: Array<{
    scope: string;
    key: string;
    path: string;
    status: number;
    objectId: string | null;
  }>;
}

export interface HyperswitchState {
  payments: Array<{ payment_id: string; amount: number; status: string }>;
  refunds: Array<{ refund_id: string; payment_id: string; amount: number; status: string }>;
}

export interface OurBooks {
  orders: Array<{
    id: string;
    status: string;
    total_amount: string;
    psp_payment_id: string | null;
  }>;
  refunds: Array<{
    id: string;
    order_id: string;
    amount: string;
    status: string;
    hyperswitch_refund_id: string | null;
  }>;
  transfers: Array<{
    id: string;
    status: string;
    amount: string;
    currency: string;
    stripe_transfer_id: string | null;
    account: string;
    last_error: string | null;
  }>;
  reversals: Array<{
    id: string;
    seller_transfer_id: string;
    status: string;
    amount: string;
    stripe_reversal_id: string | null;
    last_error: string | null;
    debt_amount: string | null;
  }>;
  payouts: Array<{
    id: string;
    status: string;
    amount: string;
    currency: string;
    external_payout_id: string | null;
    account: string;
    last_error: string | null;
  }>;
  debts: Array<{ id: string; transfer_reversal_id: string; amount: string; status: string }>;
  invariants: unknown[];
}

export interface Books {
  stripe: StripeLedger;
  hyperswitch: HyperswitchState;
  ours: OurBooks;
}

export async function readBooks(fakes: FakePsps, watch: Watch): Promise<Books> {
  const [stripe, hyperswitch] = await Promise.all([
    fakes.stripe.call<StripeLedger>("GET", "ledger"),
    fakes.hyperswitch.call<HyperswitchState>("GET", "state"),
  ]);
  const ours: OurBooks = {
    orders: await watch.rows(
      "select id::text, status, total_amount::text, psp_payment_id from settle.orders",
    ),
    refunds: await watch.rows(
      "select id::text, order_id::text, amount::text, status, hyperswitch_refund_id from settle.refunds",
    ),
    transfers: await watch.rows(
      `select t.id::text, t.status, t.amount::text, t.currency, t.stripe_transfer_id,
              s.stripe_account_id as account, t.last_error
       from settle.seller_transfers t join settle.sellers s on s.id = t.seller_id`,
    ),
    reversals: await watch.rows(
      `select r.id::text, r.seller_transfer_id::text, r.status, r.amount::text, r.stripe_reversal_id,
              r.last_error,
              (select sum(d.amount)::text from settle.seller_debts d where d.transfer_reversal_id = r.id) as debt_amount
       from settle.transfer_reversals r`,
    ),
    payouts: await watch.rows(
      `select p.id::text, p.status, p.amount::text, p.currency, p.external_payout_id,
              s.stripe_account_id as account, p.last_error
       from settle.seller_payouts p join settle.sellers s on s.id = p.seller_id`,
    ),
    debts: await watch.rows(
      "select id::text, transfer_reversal_id::text, amount::text, status from settle.seller_debts",
    ),
    invariants: await watch.rows("select * from ops.money_invariants"),
  };
  return { stripe, hyperswitch, ours };
}
