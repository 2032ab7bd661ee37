/**
 * One order's whole life, driven through the public surface: GraphQL mutations
 * with HS256 tokens, and the fake Hyperswitch playing the buyer at checkout and
 * the connector settling the refund, whose signed webhooks reach our
 * /webhooks/hyperswitch like the real ones. The worker in the app does the rest.
 * Each step ends by waiting, bounded, for the rows to get where they should.
 */
import { randomBytes } from "node:crypto";
import { type Caller, makeApi } from "./api.ts";
import type { DemoEnvironment } from "./environment.ts";
import { short } from "./transitions.ts";
import { until } from "./wait.ts";

export interface LifecycleResult {
  orderId: string;
  refundId: string;
}

const PLATFORM: Caller = { role: "settle_platform" };

export async function runLifecycle(
  demo: DemoEnvironment,
  step: (text: string) => Promise<void>,
): Promise<LifecycleResult> {
  const api = makeApi(demo.url, demo.config.jwtSecret);
  const rows = async <T>(text: string, values: unknown[]) =>
    (await demo.owner.query(text, values)).rows as T[];
  // Stripe account ids are unique: a second demo in the same SETTLE_DATA_DIR needs new ones.
  const tag = randomBytes(4).toString("hex");

  await step("register two sellers and a buyer (platform token)");
  const registerSeller = async (name: string, account: string) =>
    (
      await api.call<{ seller: { id: string } }>(
        PLATFORM,
        "registerSeller",
        `mutation ($name: String!, $account: String!) {
           registerSeller(input: { name: $name, stripeAccountId: $account }) { seller { id } } }`,
        { name, account },
      )
    ).seller.id;
  const ada = await registerSeller("Ada's atelier", `acct_demoada${tag}`);
  const bob = await registerSeller("Bob's bakery", `acct_demobob${tag}`);
  const buyerId = (
    await api.call<{ buyer: { id: string } }>(
      PLATFORM,
      "registerBuyer",
      `mutation ($email: String!) { registerBuyer(input: { email: $email }) { buyer { id } } }`,
      { email: `carol+${tag}@example.com` },
    )
  ).buyer.id;

  await step(
    `buyer ${short(buyerId)} orders 60.00 EUR from Ada (seller ${short(ada)}) and 40.00 EUR ` +
      `from Bob (seller ${short(bob)}); platform fees 6.00 and 4.00 (platform token)`,
  );
  const orderId = (
    await api.call<{ order: { id: string } }>(
      PLATFORM,
      "createOrder",
      `mutation ($buyerId: UUID!, $items: [NewOrderItemInput]!) {
         createOrder(input: { buyerId: $buyerId, currency: "EUR", items: $items }) { order { id } } }`,
      {
        buyerId,
        items: [
          { sellerId: ada, amount: "6000", platformFee: "600" },
          { sellerId: bob, amount: "4000", platformFee: "400" },
        ],
      },
    )
  ).order.id;
  const orderStatus = async () =>
    (await rows<{ status: string }>("select status from settle.orders where id = $1", [orderId]))[0]
      ?.status;

  await step(
    `the buyer confirms order ${short(orderId)}: a Hyperswitch payment with payment_id = the order id`,
  );
  await api.call<{ clientSecret: string }>(
    { role: "settle_buyer", sub: buyerId },
    "confirmOrder",
    `mutation ($orderId: UUID!) { confirmOrder(input: { orderId: $orderId }) { clientSecret } }`,
    { orderId },
  );

  await step("the buyer pays at checkout: Hyperswitch sends a signed payment_succeeded webhook");
  demo.hyperswitch.settlePayment(orderId, { status: "succeeded" });
  const transfers = () =>
    rows<{ status: string }>("select status from settle.seller_transfers where order_id = $1", [
      orderId,
    ]);
  await until(
    "the payment and both seller transfers at Stripe",
    async () =>
      (await orderStatus()) === "paid" &&
      (await transfers()).filter((t) => t.status === "completed").length === 2,
    { seen: async () => `order ${await orderStatus()}, transfers ${statuses(await transfers())}` },
  );

  await step(
    "refund 25.00 EUR of the order (platform token): a Hyperswitch refund with refund_id = the row id",
  );
  const refundId = (
    await api.call<{ refund: { id: string } }>(
      PLATFORM,
      "refundOrder",
      `mutation ($orderId: UUID!) {
         refundOrder(input: { orderId: $orderId, amount: "2500", reason: "a parcel arrived damaged" }) {
           refund { id } } }`,
      { orderId },
    )
  ).refund.id;

  await step(
    "the connector settles the refund: a signed refund_succeeded webhook; both transfers reversed pro rata",
  );
  const reversals = () =>
    rows<{ status: string }>(
      `select r.status from settle.transfer_reversals r
       join settle.seller_transfers t on t.id = r.seller_transfer_id where t.order_id = $1`,
      [orderId],
    );
  await until(
    "the refund and both transfer reversals",
    async () =>
      (await orderStatus()) === "partially_refunded" &&
      (await reversals()).filter((r) => r.status === "reversed").length === 2,
    {
      seen: async () => `order ${await orderStatus()}, reversals ${statuses(await reversals())}`,
    },
  );
  return { orderId, refundId };
}

const statuses = (list: { status: string }[]) =>
  list.length ? list.map((row) => row.status).join(", ") : "none";
