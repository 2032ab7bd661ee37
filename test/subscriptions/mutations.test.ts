/**
 * createSubscription / cancelSubscription through GraphQL (SPEC §6): the buyer
 * itself or the platform may subscribe and cancel; another buyer is FORBIDDEN;
 * bad input is VALIDATION and writes nothing.
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
import { insertBuyer } from "../support/sql.ts";

const test = anyTest as TestFn<{ app: FlowsApp }>;

useFlowsApp(test);

const CREATE = `mutation ($buyerId: UUID!, $planId: UUID!) {
  createSubscription(input: { buyerId: $buyerId, planId: $planId }) {
    subscription { id status buyerId planId }
  }
}`;
const CANCEL = `mutation ($id: UUID!) {
  cancelSubscription(input: { subscriptionId: $id }) { subscription { id status } }
}`;

const buyerToken = (buyerId: string) => signJwt({ role: "settle_buyer", sub: buyerId });

async function plan(app: FlowsApp): Promise<string> {
  const { rows } = await app.owner.query(
    "insert into settle.plans (name, amount, currency, interval) values ('Pro', 900, 'EUR', 'month') returning id",
  );
  return rows[0].id;
}

async function counts(app: FlowsApp) {
  const { rows } = await app.owner.query(
    "select (select count(*) from settle.subscriptions)::int as subs, (select count(*) from settle.subscription_invoices)::int as invoices",
  );
  return rows[0];
}

test.serial("a buyer subscribes itself and cancels; another buyer may do neither", async (t) => {
  const { app } = t.context;
  const [alice, bob, planId] = [
    await insertBuyer(app.owner),
    await insertBuyer(app.owner),
    await plan(app),
  ];
  const url = app.running.url;

  const created = await graphql(url, CREATE, {
    token: await buyerToken(alice),
    variables: { buyerId: alice, planId },
  });
  const sub = dataOf<{ subscription: { id: string; status: string; buyerId: string } }>(
    created,
    "createSubscription",
  ).subscription;
  t.like(sub, { status: "incomplete", buyerId: alice });
  const { rows: inv } = await app.owner.query(
    "select status from settle.subscription_invoices where subscription_id = $1",
    [sub.id],
  );
  t.deepEqual(inv, [{ status: "pending" }]);

  const again = await graphql(url, CREATE, {
    token: await buyerToken(alice),
    variables: { buyerId: alice, planId },
  });
  t.is(errorCode(again), "SUBSCRIPTION_EXISTS");

  const forBob = await graphql(url, CREATE, {
    token: await buyerToken(alice),
    variables: { buyerId: bob, planId },
  });
  t.is(errorCode(forBob), "FORBIDDEN");

  const byBob = await graphql(url, CANCEL, {
    token: await buyerToken(bob),
    variables: { id: sub.id },
  });
  t.is(errorCode(byBob), "FORBIDDEN");
  const { rows: still } = await app.owner.query(
    "select status from settle.subscriptions where id = $1",
    [sub.id],
  );
  t.is(still[0].status, "incomplete");

  const byAlice = await graphql(url, CANCEL, {
    token: await buyerToken(alice),
    variables: { id: sub.id },
  });
  // It never started: incomplete -> incomplete_expired, and its invoice is given up.
  t.like(dataOf<{ subscription: { status: string } }>(byAlice, "cancelSubscription").subscription, {
    id: sub.id,
    status: "incomplete_expired",
  });
  const { rows: after } = await app.owner.query(
    "select status from settle.subscription_invoices where subscription_id = $1",
    [sub.id],
  );
  t.deepEqual(after, [{ status: "uncollectible" }]);
});

test.serial(
  "the platform subscribes a buyer; bad input is VALIDATION and writes nothing",
  async (t) => {
    const { app } = t.context;
    const [buyer, planId] = [await insertBuyer(app.owner), await plan(app)];
    const url = app.running.url;
    const platform = await signJwt({ role: "settle_platform" });
    const before = await counts(app);

    const noPlan = await graphql(url, CREATE, {
      token: platform,
      variables: { buyerId: buyer, planId: "00000000-0000-4000-8000-000000000000" },
    });
    t.is(errorCode(noPlan), "VALIDATION");
    t.regex(noPlan.body.errors?.[0]?.message ?? "", /^planId: no plan/);
    const noBuyer = await graphql(url, CREATE, {
      token: platform,
      variables: { buyerId: "00000000-0000-4000-8000-000000000000", planId },
    });
    t.is(errorCode(noBuyer), "VALIDATION");
    const noSub = await graphql(url, CANCEL, {
      token: platform,
      variables: { id: "00000000-0000-4000-8000-000000000000" },
    });
    t.is(errorCode(noSub), "VALIDATION");
    t.deepEqual(await counts(app), before);

    const created = await graphql(url, CREATE, {
      token: platform,
      variables: { buyerId: buyer, planId },
    });
    t.like(
      dataOf<{ subscription: { status: string } }>(created, "createSubscription").subscription,
      {
        status: "incomplete",
        buyerId: buyer,
      },
    );
  },
);
