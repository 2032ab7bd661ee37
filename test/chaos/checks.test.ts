/**
 * The chaos suite's checks find what they are there to find: consistent books
 * pass, and each kind of divergence between the PSPs' ledgers and ours (a doubled
 * transfer, a transfer only one side has, a different amount, a reversal neither
 * reversed nor a debt, a payout in another status, a refund Hyperswitch lacks, a
 * key executed twice, a row left moving) is a violation naming the row.
 */
import test from "ava";
import type { Books } from "../../src/chaos/books.ts";
import { runChecks } from "../../src/chaos/checks.ts";

const T1 = "11111111-1111-4111-8111-111111111111";
const R1 = "22222222-2222-4222-8222-222222222222";
const R2 = "33333333-3333-4333-8333-333333333333";
const P1 = "44444444-4444-4444-8444-444444444444";
const O1 = "55555555-5555-4555-8555-555555555555";
const F1 = "66666666-6666-4666-8666-666666666666";

/** One paid order, refunded in part: its transfer made, one reversal made, one refused for balance; one payout. */
function consistent(): Books {
  return {
    stripe: {
      transfers: [
        {
          transfer: {
            id: "tr_1",
            amount: 900,
            amount_reversed: 100,
            currency: "eur",
            destination: "acct_a",
            metadata: { seller_transfer_id: T1, order_id: O1 },
          },
          reversals: [{ id: "trr_1", amount: 100, metadata: { transfer_reversal_id: R1 } }],
        },
      ],
      payouts: [
        {
          account: "acct_a",
          payout: {
            id: "po_1",
            amount: 500,
            currency: "eur",
            status: "paid",
            metadata: { seller_payout_id: P1 },
          },
        },
      ],
      executions: [
        { scope: "platform", key: T1, path: "/v1/transfers", status: 200, objectId: "tr_1" },
        {
          scope: "platform",
          key: `${R1}:1`,
          path: "/v1/transfers/tr_1/reversals",
          status: 200,
          objectId: "trr_1",
        },
        {
          scope: "platform",
          key: R1,
          path: "/v1/transfers/tr_1/reversals",
          status: 500,
          objectId: null,
        },
        { scope: "acct_a", key: P1, path: "/v1/payouts", status: 200, objectId: "po_1" },
      ],
    },
    hyperswitch: {
      payments: [{ payment_id: O1, amount: 1000, status: "succeeded" }],
      refunds: [{ refund_id: F1, payment_id: O1, amount: 300, status: "succeeded" }],
    },
    ours: {
      orders: [{ id: O1, status: "partially_refunded", total_amount: "1000", psp_payment_id: O1 }],
      refunds: [
        { id: F1, order_id: O1, amount: "300", status: "succeeded", hyperswitch_refund_id: F1 },
      ],
      transfers: [
        {
          id: T1,
          status: "partially_reversed",
          amount: "900",
          currency: "EUR",
          stripe_transfer_id: "tr_1",
          account: "acct_a",
          last_error: null,
        },
      ],
      reversals: [
        {
          id: R1,
          seller_transfer_id: T1,
          status: "reversed",
          amount: "100",
          stripe_reversal_id: "trr_1",
          last_error: null,
          debt_amount: null,
        },
        {
          id: R2,
          seller_transfer_id: T1,
          status: "permanently_failed",
          amount: "170",
          stripe_reversal_id: null,
          last_error: "balance_insufficient: no money",
          debt_amount: "170",
        },
      ],
      payouts: [
        {
          id: P1,
          status: "paid",
          amount: "500",
          currency: "EUR",
          external_payout_id: "po_1",
          account: "acct_a",
          last_error: null,
        },
      ],
      debts: [{ id: "d1", transfer_reversal_id: R2, amount: "170", status: "settled" }],
      invariants: [],
    },
  };
}

const violations = (books: Books, left: Parameters<typeof runChecks>[1] = []) =>
  runChecks(books, left).flatMap((r) => r.violations);

test("consistent books pass every check", (t) => {
  t.deepEqual(violations(consistent()), []);
});

test("a transfer made twice at Stripe for one row", (t) => {
  const books = consistent();
  const first = books.stripe.transfers[0]!;
  books.stripe.transfers.push({
    ...structuredClone(first),
    transfer: { ...first.transfer, id: "tr_2", amount_reversed: 0 },
    reversals: [],
  });
  t.true(violations(books).some((v) => v.includes(`transfer ${T1}: 2 transfers at Stripe`)));
});

test("a transfer we think cancelled that Stripe made, and one we think made that Stripe lacks", (t) => {
  const cancelled = consistent();
  cancelled.ours.transfers[0]!.status = "cancelled";
  t.true(violations(cancelled).some((v) => v.includes("is cancelled, yet Stripe made tr_1")));
  const missing = consistent();
  missing.stripe.transfers = [];
  t.true(violations(missing).some((v) => v.includes("which Stripe does not have")));
});

test("amounts that differ, and a transfer that gave up", (t) => {
  const books = consistent();
  books.ours.transfers[0]!.amount = "901";
  t.true(violations(books).some((v) => v.includes("901 here, 900 at Stripe")));
  const gaveUp = consistent();
  gaveUp.ours.transfers[0]!.status = "permanently_failed";
  gaveUp.stripe.transfers = [];
  gaveUp.ours.reversals = [];
  gaveUp.ours.debts = [];
  t.true(violations(gaveUp).some((v) => v.includes("gave up, the seller is not paid")));
});

test("a reversal neither reversed nor a recorded debt, and Stripe's reversed total differing", (t) => {
  const books = consistent();
  books.ours.reversals[1]!.debt_amount = null;
  books.ours.debts = [];
  t.true(
    violations(books).some((v) =>
      v.includes(`reversal ${R2} is neither reversed nor a recorded seller debt`),
    ),
  );
  const total = consistent();
  total.stripe.transfers[0]!.transfer.amount_reversed = 200;
  t.true(violations(total).some((v) => v.includes("200 reversed at Stripe, 100 here")));
});

test("a payout in another status at Stripe, and one Stripe made for a row without its id", (t) => {
  const books = consistent();
  books.ours.payouts[0]!.status = "pending";
  t.true(violations(books).some((v) => v.includes("pending here, paid at Stripe")));
  const unsent = consistent();
  unsent.ours.payouts[0]!.external_payout_id = null;
  t.true(violations(unsent).some((v) => v.includes("has no Stripe id, yet Stripe made po_1")));
});

test("Hyperswitch: a refund it lacks, and an order whose payment status differs", (t) => {
  const books = consistent();
  books.hyperswitch.refunds = [];
  t.true(
    violations(books).some((v) =>
      v.includes(`refund ${F1} is succeeded, and Hyperswitch does not have it`),
    ),
  );
  const failed = consistent();
  failed.hyperswitch.payments[0]!.status = "failed";
  t.true(violations(failed).some((v) => v.includes("its payment failed at Hyperswitch")));
});

test("a key whose calls made two objects", (t) => {
  const books = consistent();
  books.stripe.executions.push({
    scope: "platform",
    key: `${T1}:1`,
    path: "/v1/transfers",
    status: 200,
    objectId: "tr_9",
  });
  t.true(violations(books).some((v) => v.includes("2 executions made objects")));
});

test("rows left moving and broken invariants are violations", (t) => {
  const books = consistent();
  books.ours.invariants = [{ invariant: "x" }];
  const found = violations(books, [
    { entity: "seller_transfers", id: T1, status: "failed", last_error: "boom" },
  ]);
  t.true(found.some((v) => v.includes(`seller_transfers ${T1} is failed: boom`)));
  t.true(found.some((v) => v.includes('"invariant":"x"')));
});
