/**
 * createPayout and settleSellerDebt over GraphQL (SPEC §6): admin only (anyone
 * else gets FORBIDDEN and nothing is written), refusals with stable codes, and an
 * admin's settlement of a debt kept with its reason in the audit trail.
 */
import anyTest, { type TestFn } from "ava";
import {
  dataOf,
  errorCode,
  type FlowsApp,
  graphql,
  signJwt,
  useFlowsApp,
} from "../server/helpers.ts";
import { asCaller, insertBuyer, insertOrder, insertSeller, moveOrder } from "../support/sql.ts";

const test = anyTest as TestFn<{ app: FlowsApp }>;

useFlowsApp(test);

const admin = () => signJwt({ role: "settle_admin", sub: "5b0e4a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b" });
const platform = () => signJwt({ role: "settle_platform" });

/**
 * A seller paid 1000 by a transfer Stripe made, then refunded 300 whose reversal
 * was refused for balance_insufficient: 700 left, 300 of it owed (an open debt).
 */
async function sellerWithDebt(app: FlowsApp): Promise<{ sellerId: string; debtId: string }> {
  const sellerId = await insertSeller(app.owner);
  const { orderId } = await insertOrder(app.owner, await insertBuyer(app.owner), [
    { sellerId, amount: 1000, platformFee: 0 },
  ]);
  await moveOrder(app.owner, orderId, "payment_pending");
  await app.owner.query("select settle_private.apply_payment_succeeded($1, $2, now())", [
    orderId,
    `pay_${orderId}`,
  ]);
  await app.owner.query(
    `update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || md5(id::text)
     where order_id = $1`,
    [orderId],
  );
  const refundId = await asCaller(app.owner, { role: "settle_platform" }, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "select id from settle_api.refund_order_begin($1, 300, 'test', null)",
      [orderId],
    );
    return rows[0]!.id;
  });
  await app.owner.query("select settle_private.apply_refund_succeeded($1, $2, now())", [
    refundId,
    `ref_${refundId}`,
  ]);
  await app.owner.query(
    `update settle.transfer_reversals set status = 'permanently_failed',
       last_error = 'balance_insufficient: stripe permanent balance_insufficient'
     where refund_id = $1`,
    [refundId],
  );
  const { rows } = await app.owner.query<{ id: string }>(
    "select id from settle.seller_debts where seller_id = $1 and status = 'open'",
    [sellerId],
  );
  return { sellerId, debtId: rows[0]!.id };
}

const CREATE = `mutation ($sellerId: UUID!, $amount: BigInt) {
  createPayout(input: { sellerId: $sellerId, amount: $amount, clientMutationId: "c-1" }) {
    clientMutationId payout { id amount currency status }
  }
}`;
const SETTLE = `mutation ($debtId: UUID!, $reason: String!) {
  settleSellerDebt(input: { debtId: $debtId, reason: $reason }) {
    debt { id status settledBy reason }
  }
}`;

const count = async (app: FlowsApp, table: string, sellerId: string) =>
  (
    await app.owner.query<{ n: number }>(
      `select count(*)::int as n from settle.${table} where seller_id = $1`,
      [sellerId],
    )
  ).rows[0]!.n;

test("createPayout: admin only; above available refused; no amount = available after debts", async (t) => {
  const { app } = t.context;
  const { sellerId } = await sellerWithDebt(app);
  const url = app.running.url;

  const forbidden = await graphql(url, CREATE, {
    token: await platform(),
    variables: { sellerId },
  });
  t.is(errorCode(forbidden), "FORBIDDEN");
  const tooMuch = await graphql(url, CREATE, {
    token: await admin(),
    variables: { sellerId, amount: "701" },
  });
  t.is(errorCode(tooMuch), "PAYOUT_EXCEEDS_AVAILABLE");
  t.is(await count(app, "seller_payouts", sellerId), 0, "nothing written");

  const created = await graphql(url, CREATE, { token: await admin(), variables: { sellerId } });
  const payload = dataOf<{ clientMutationId: string; payout: Record<string, unknown> }>(
    created,
    "createPayout",
  );
  t.is(payload.clientMutationId, "c-1");
  t.like(payload.payout, { amount: "700", currency: "EUR", status: "pending" });
  t.is(await count(app, "seller_debts", sellerId), 1);
  const again = await graphql(url, CREATE, { token: await admin(), variables: { sellerId } });
  t.is(errorCode(again), "PAYOUT_EXCEEDS_AVAILABLE", "nothing left");
});

test("settleSellerDebt: admin only, with a reason kept in the audit trail", async (t) => {
  const { app } = t.context;
  const { debtId } = await sellerWithDebt(app);
  const url = app.running.url;
  const reason = "seller repaid by bank transfer";

  const forbidden = await graphql(url, SETTLE, {
    token: await platform(),
    variables: { debtId, reason },
  });
  t.is(errorCode(forbidden), "FORBIDDEN");
  const blank = await graphql(url, SETTLE, {
    token: await admin(),
    variables: { debtId, reason: " " },
  });
  t.is(errorCode(blank), "VALIDATION");
  const open = await app.owner.query("select status from settle.seller_debts where id = $1", [
    debtId,
  ]);
  t.is(open.rows[0].status, "open", "nothing written by the refusals");

  const settled = await graphql(url, SETTLE, {
    token: await admin(),
    variables: { debtId, reason },
  });
  t.like(dataOf<{ debt: Record<string, unknown> }>(settled, "settleSellerDebt").debt, {
    id: debtId,
    status: "settled",
    settledBy: "admin",
    reason,
  });
  const audit = await app.owner.query(
    "select from_status, to_status, actor, reason from settle.state_transitions where entity_id = $1 order by id",
    [debtId],
  );
  t.like(audit.rows[1], { from_status: "open", to_status: "settled", reason });
  t.regex(audit.rows[1].actor, /^settle_admin:/);
  const twice = await graphql(url, SETTLE, { token: await admin(), variables: { debtId, reason } });
  t.is(errorCode(twice), "ILLEGAL_TRANSITION");
});
