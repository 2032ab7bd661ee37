/**
 * The GraphQL calls a marketplace front end and its back office make, through the
 * public API with HS256 tokens (the demo's client). A call that fails while the
 * database restarts or the PSPs misbehave is retried by the caller, which checks
 * the database (the source of truth) before doing anything twice.
 */
import { type Api, ApiError, type Caller } from "../demo/api.ts";

export const PLATFORM: Caller = { role: "settle_platform" };
export const ADMIN: Caller = { role: "settle_admin" };

export function registerSeller(api: Api, name: string, account: string): Promise<string> {
  return api
    .call<{ seller: { id: string } }>(
      PLATFORM,
      "registerSeller",
      `mutation ($name: String!, $account: String!) {
         registerSeller(input: { name: $name, stripeAccountId: $account }) { seller { id } } }`,
      { name, account },
    )
    .then((r) => r.seller.id);
}

export function registerBuyer(api: Api, email: string): Promise<string> {
  return api
    .call<{ buyer: { id: string } }>(
      PLATFORM,
      "registerBuyer",
      `mutation ($email: String!) { registerBuyer(input: { email: $email }) { buyer { id } } }`,
      { email },
    )
    .then((r) => r.buyer.id);
}

export function createOrder(
  api: Api,
  buyerId: string,
  items: Array<{ sellerId: string; amount: number; platformFee: number }>,
): Promise<string> {
  return api
    .call<{ order: { id: string } }>(
      PLATFORM,
      "createOrder",
      `mutation ($buyerId: UUID!, $items: [NewOrderItemInput]!) {
         createOrder(input: { buyerId: $buyerId, currency: "EUR", items: $items }) { order { id } } }`,
      {
        buyerId,
        items: items.map((i) => ({
          sellerId: i.sellerId,
          amount: String(i.amount),
          platformFee: String(i.platformFee),
        })),
      },
    )
    .then((r) => r.order.id);
}

export async function confirmOrder(api: Api, buyerId: string, orderId: string): Promise<void> {
  await api.call(
    { role: "settle_buyer", sub: buyerId },
    "confirmOrder",
    `mutation ($orderId: UUID!) { confirmOrder(input: { orderId: $orderId }) { clientSecret } }`,
    { orderId },
  );
}

export async function cancelOrder(api: Api, buyerId: string, orderId: string): Promise<void> {
  await api.call(
    { role: "settle_buyer", sub: buyerId },
    "cancelOrder",
    `mutation ($orderId: UUID!) { cancelOrder(input: { orderId: $orderId }) { order { id } } }`,
    { orderId },
  );
}

export function refundOrder(
  api: Api,
  orderId: string,
  refund: { amount?: number; items?: Array<{ orderItemId: string; amount: number }> },
): Promise<string> {
  return api
    .call<{ refund: { id: string } }>(
      PLATFORM,
      "refundOrder",
      `mutation ($orderId: UUID!, $amount: BigInt, $items: [RefundOrderItemInput!]) {
         refundOrder(input: { orderId: $orderId, amount: $amount, items: $items, reason: "chaos" }) {
           refund { id } } }`,
      {
        orderId,
        amount: refund.amount === undefined ? null : String(refund.amount),
        items:
          refund.items?.map((i) => ({ orderItemId: i.orderItemId, amount: String(i.amount) })) ??
          null,
      },
    )
    .then((r) => r.refund.id);
}

export async function createPayout(api: Api, sellerId: string): Promise<void> {
  await api.call(
    ADMIN,
    "createPayout",
    `mutation ($sellerId: UUID!) { createPayout(input: { sellerId: $sellerId }) { payout { id } } }`,
    { sellerId },
  );
}

/** The API's stable error code, from the ApiError message ("field failed (HTTP n): CODE: …"). */
export function errorCode(error: unknown): string {
  if (!(error instanceof ApiError)) return "NETWORK";
  return /\): ([A-Z_]+):/.exec(error.message)?.[1] ?? "ERROR";
}
