/**
 * Our typed parameters as Hyperswitch request bodies. Hyperswitch rejects unknown
 * fields (deny_unknown_fields → 400 IR_06), so only documented fields are written,
 * and undefined ones are left out rather than sent as null.
 */
import type { CreatePaymentParams, CreateRefundParams, MinorUnits } from "./types.ts";

export function paymentBody(
  paymentId: string,
  params: CreatePaymentParams,
): Record<string, unknown> {
  const card = params.paymentMethodData?.card;
  return {
    payment_id: paymentId,
    amount: minorUnits(params.amount, "amount"),
    currency: params.currency,
    customer_id: params.customerId,
    description: params.description,
    confirm: params.confirm,
    capture_method: params.captureMethod,
    payment_method: params.paymentMethod ?? (card ? "card" : undefined),
    payment_method_type: params.paymentMethodType,
    payment_method_data: card
      ? {
          card: {
            card_number: card.cardNumber,
            card_exp_month: card.cardExpMonth,
            card_exp_year: card.cardExpYear,
            card_holder_name: card.cardHolderName,
            card_cvc: card.cardCvc,
          },
        }
      : undefined,
    return_url: params.returnUrl,
    authentication_type: params.authenticationType,
    metadata: params.metadata,
    merchant_order_reference_id: params.merchantOrderReferenceId,
  };
}

export function refundBody(refundId: string, params: CreateRefundParams): Record<string, unknown> {
  return {
    refund_id: refundId,
    payment_id: params.paymentId,
    amount: minorUnits(params.amount, "amount"),
    reason: params.reason,
    metadata: params.metadata,
  };
}

/**
 * Money is integer minor units; a fraction or a value past 2^53 would be sent as a
 * different amount than meant, so it fails here, before any I/O.
 */
export function minorUnits(value: MinorUnits, field: string): number {
  const n = typeof value === "bigint" ? Number(value) : value;
  if (!Number.isSafeInteger(n) || (typeof value === "bigint" && BigInt(n) !== value)) {
    throw new TypeError(`${field} must be an integer number of minor units (got ${String(value)})`);
  }
  return n;
}
