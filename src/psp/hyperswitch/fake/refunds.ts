/**
 * POST /refunds and a refund's life afterwards (psp-facts A2, A3). The checks run
 * in the router's order, which matters for replays: the IR_13 amount check comes
 * before the duplicate `refund_id` check, so replaying a refund that used up the
 * remaining amount answers IR_13, not HE_01.
 *
 * A refund is `pending` when created and is settled by the connector later: by a
 * control call (the default, for deterministic tests), after a delay, or at once
 * (the create answer already carries the outcome, as a synchronous connector does).
 */
import { hsErrors } from "./errors.ts";
import { FAKE_CONNECTOR, generatedId, type WireRefund } from "./objects.ts";
import type { RefundRequest } from "./requests.ts";
import type { FakeState } from "./state.ts";

const REFUNDABLE = new Set(["succeeded", "partially_captured"]);
/** `refund.max_attempts` of the router's default config. */
const MAX_REFUND_ATTEMPTS = 10;
const MAX_REFUND_ID = 64;

export interface RefundOutcome {
  status: "succeeded" | "failed";
  errorCode?: string;
  errorMessage?: string;
}

export interface RefundSettlement {
  /** manual: a control call settles; after_delay: `delayMs` after creation; immediate: in the create. */
  mode: "manual" | "after_delay" | "immediate";
  /** What after_delay and immediate settle to. */
  outcome: "succeeded" | "failed";
  delayMs: number;
}

export const DEFAULT_SETTLEMENT: RefundSettlement = {
  mode: "manual",
  outcome: "succeeded",
  delayMs: 0,
};

export function createRefund(state: FakeState, req: RefundRequest): WireRefund {
  const refundId = req.refund_id ?? generatedId("ref");
  if (refundId.length === 0 || refundId.length > MAX_REFUND_ID) {
    throw hsErrors.invalidFormat("refund_id", `a string of 1 to ${MAX_REFUND_ID} characters`);
  }
  const payment = state.payments.get(req.payment_id);
  if (!payment) throw hsErrors.paymentNotFound();
  if (!REFUNDABLE.has(payment.status)) throw hsErrors.refundWrongPaymentStatus(payment.status);
  const captured = payment.amount_received ?? 0;
  const amount = req.amount ?? captured;
  if (amount <= 0) throw hsErrors.invalidFormat("amount", "positive integer");
  const ofPayment = [...state.refunds.values()].filter((r) => r.payment_id === payment.payment_id);
  const committed = ofPayment
    .filter((r) => r.status !== "failed")
    .reduce((sum, r) => sum + r.amount, 0);
  if (amount > captured - committed) throw hsErrors.refundExceedsCaptured();
  if (ofPayment.length >= MAX_REFUND_ATTEMPTS) throw hsErrors.maxRefundAttempts();
  if (state.refunds.has(refundId)) throw hsErrors.duplicateRefund();

  const now = state.now();
  const refund: WireRefund = {
    refund_id: refundId,
    payment_id: payment.payment_id,
    amount,
    currency: payment.currency,
    status: "pending",
    reason: req.reason ?? null,
    metadata: req.metadata ?? null,
    error_code: null,
    error_message: null,
    unified_code: null,
    unified_message: null,
    created_at: now,
    updated_at: now,
    connector: FAKE_CONNECTOR,
    profile_id: payment.profile_id,
    merchant_connector_id: null,
  };
  state.refunds.set(refundId, refund);
  return refund;
}

export function settleRefund(
  state: FakeState,
  refundId: string,
  outcome: RefundOutcome,
): WireRefund {
  const refund = state.refunds.get(refundId);
  if (!refund) throw hsErrors.refundNotFound();
  if (refund.status !== "pending" && refund.status !== "review") {
    throw new Error(`refund ${refundId} is ${refund.status}: it can no longer succeed or fail`);
  }
  refund.status = outcome.status;
  if (outcome.status === "failed") {
    refund.error_code = outcome.errorCode ?? "refund_failed";
    refund.error_message = outcome.errorMessage ?? "The connector declined the refund";
  }
  refund.updated_at = state.now();
  state.changed({ kind: "refund", object: refund });
  return refund;
}

/**
 * Applies the settlement policy to a refund just created: now, or through `later`,
 * which owns the timer (the fake cancels it on reset and close).
 */
export function applySettlement(
  state: FakeState,
  refundId: string,
  settlement: RefundSettlement,
  later: (settle: () => void, ms: number) => void,
): void {
  const settle = () => {
    // A control call may have settled it meanwhile; the connector answers once.
    if (state.refunds.get(refundId)?.status === "pending") {
      settleRefund(state, refundId, { status: settlement.outcome });
    }
  };
  if (settlement.mode === "immediate") settle();
  else if (settlement.mode === "after_delay") later(settle, settlement.delayMs);
}
