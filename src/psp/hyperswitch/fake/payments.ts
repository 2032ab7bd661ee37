/**
 * POST /payments and what happens to a payment afterwards, as the router and the
 * dummy connector do it (psp-facts A1, A3, A5):
 * - the merchant-chosen `payment_id` (1–64 of [A-Za-z0-9_-], else IR_05 422) is
 *   the idempotency mechanism: a second create with it is 400 HE_01, whatever the
 *   body, and the original is not returned;
 * - `confirm: true` with a card authorises now and the card decides the status
 *   (a decline is HTTP 200 with `status: "failed"`); without confirmation the
 *   payment waits for the buyer (`requires_payment_method` / `requires_confirmation`)
 *   until a control call plays the buyer completing checkout.
 */
import { randomBytes } from "node:crypto";
import { cardOutcome } from "./cards.ts";
import { hsErrors } from "./errors.ts";
import { FAKE_CONNECTOR, generatedId, type WirePayment } from "./objects.ts";
import type { PaymentsCancelRequest, PaymentsRequest } from "./requests.ts";
import type { FakeState } from "./state.ts";

const PAYMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Statuses from which the buyer (or the connector) can still move the payment. */
const OPEN = new Set([
  "requires_payment_method",
  "requires_confirmation",
  "requires_customer_action",
  "requires_capture",
  "processing",
]);

export interface PaymentOutcome {
  status: "succeeded" | "failed";
  errorCode?: string;
  errorMessage?: string;
}

export function createPayment(
  state: FakeState,
  req: PaymentsRequest,
  baseUrl: string,
): WirePayment {
  const paymentId = req.payment_id ?? generatedId("pay");
  if (!PAYMENT_ID.test(paymentId)) {
    throw hsErrors.invalidFormat("payment_id", "a string of 1 to 64 characters from [A-Za-z0-9_-]");
  }
  if (req.amount === undefined) throw hsErrors.missingParam("amount");
  if (req.currency === undefined) throw hsErrors.missingParam("currency");
  // ❓ The fake's own limits: the router's exact answer for these was not traced.
  if (req.amount < 0) throw hsErrors.invalidFormat("amount", "a non-negative integer");
  if (state.payments.has(paymentId)) throw hsErrors.duplicatePayment(paymentId);

  const now = state.now();
  const card = req.payment_method_data?.card ?? null;
  const payment: WirePayment = {
    payment_id: paymentId,
    merchant_id: state.merchantId,
    status: card ? "requires_confirmation" : "requires_payment_method",
    amount: req.amount,
    net_amount: req.amount,
    amount_capturable: req.amount,
    amount_received: null,
    currency: req.currency,
    customer_id: req.customer_id ?? null,
    description: req.description ?? null,
    client_secret: `${paymentId}_secret_${randomBytes(10).toString("hex")}`,
    connector: null,
    connector_transaction_id: null,
    capture_method: req.capture_method ?? "automatic",
    payment_method: req.payment_method ?? (card ? "card" : null),
    payment_method_type: req.payment_method_type ?? null,
    payment_method_data: card
      ? { card: { last4: card.card_number.slice(-4) }, billing: null }
      : null,
    next_action: null,
    error_code: null,
    error_message: null,
    unified_code: null,
    unified_message: null,
    metadata: req.metadata ?? null,
    return_url: req.return_url ?? null,
    authentication_type: req.authentication_type ?? "no_three_ds",
    merchant_order_reference_id: req.merchant_order_reference_id ?? null,
    attempt_count: 1,
    profile_id: req.profile_id ?? state.profileId,
    manual_retry_allowed: null,
    cancellation_reason: null,
    refunds: null,
    created: now,
    updated: now,
  };
  state.payments.set(paymentId, payment);

  if (req.confirm && card) {
    payment.connector = FAKE_CONNECTOR;
    payment.connector_transaction_id = generatedId("fauxpay_txn");
    const outcome = cardOutcome(card.card_number);
    if (outcome.kind === "three_ds") {
      payment.status = "requires_customer_action";
      payment.next_action = {
        type: "redirect_to_url",
        redirect_to_url: `${baseUrl}/dummy-connector/authorize/${paymentId}`,
      };
    } else {
      finish(
        state,
        payment,
        outcome.kind === "succeeded"
          ? { status: "succeeded" }
          : {
              status: "failed",
              errorCode: outcome.errorCode,
              errorMessage: outcome.errorMessage,
            },
      );
    }
  }
  return payment;
}

/**
 * POST /payments/{id}/cancel (payment_cancel.rs): refused with 400 IR_16 from a
 * status it lists (failed, succeeded, cancelled, processing,
 * requires_merchant_action) and from the other final ones; otherwise the payment is
 * cancelled and its payment_cancelled event emitted. (The router leaves a
 * requires_capture payment there until the connector confirms the void; the fake
 * voids at once.)
 */
export function cancelPayment(
  state: FakeState,
  paymentId: string,
  req: PaymentsCancelRequest,
): WirePayment {
  const payment = state.payments.get(paymentId);
  if (!payment) throw hsErrors.paymentNotFound();
  if (!OPEN.has(payment.status) || payment.status === "processing") {
    throw hsErrors.preconditionFailed(
      `You cannot cancel this payment because it has status ${payment.status}`,
    );
  }
  payment.status = "cancelled";
  payment.next_action = null;
  payment.amount_capturable = 0;
  payment.cancellation_reason = req.cancellation_reason ?? null;
  payment.updated = state.now();
  state.changed({ kind: "payment", object: payment });
  return payment;
}

/** The buyer completes (or abandons) checkout, or the connector decides later. */
export function settlePayment(
  state: FakeState,
  paymentId: string,
  outcome: PaymentOutcome,
): WirePayment {
  const payment = state.payments.get(paymentId);
  if (!payment) throw hsErrors.paymentNotFound();
  if (!OPEN.has(payment.status)) {
    throw new Error(`payment ${paymentId} is ${payment.status}: it can no longer succeed or fail`);
  }
  payment.connector ??= FAKE_CONNECTOR;
  payment.connector_transaction_id ??= generatedId("fauxpay_txn");
  finish(state, payment, outcome);
  return payment;
}

function finish(state: FakeState, payment: WirePayment, outcome: PaymentOutcome): void {
  payment.next_action = null;
  if (outcome.status === "succeeded") {
    // Manual capture stops at requires_capture, as the router does.
    const capture = payment.capture_method === "manual" && payment.status !== "requires_capture";
    payment.status = capture ? "requires_capture" : "succeeded";
    payment.amount_capturable = capture ? payment.amount : 0;
    payment.amount_received = capture ? null : payment.amount;
    payment.error_code = null;
    payment.error_message = null;
  } else {
    payment.status = "failed";
    payment.amount_capturable = 0;
    payment.error_code = outcome.errorCode ?? "DC_08";
    payment.error_message = outcome.errorMessage ?? "Payment declined: Card declined";
    payment.manual_retry_allowed = true;
  }
  payment.updated = state.now();
  state.changed({ kind: "payment", object: payment });
}
