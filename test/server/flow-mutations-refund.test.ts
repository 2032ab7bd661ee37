/**
 * SPEC §5 Refund through the refundOrder mutation, against the fake Hyperswitch:
 * full, partial and by-item refunds reach the PSP with refund_id = the row's id;
 * every refusal by the guards writes nothing and calls nobody.
 */
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { insertBuyer, insertOrder, insertSeller } from "../support/sql.ts";
import {
  dataOf,
  errorCode,
  type FlowsApp,
  type GraphQLResponse,
  graphql,
  signJwt,
  startFlowsApp,
} from "./helpers.ts";

interface Context {
  app: FlowsApp;
  buyer: string;
  sellers: [string, string];
}

// Serial tests: a fault injected into the one fake must hit the test that injected it.
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const app = await startFlowsApp();
  t.context.app = app;
  t.context.buyer = await insertBuyer(app.owner);
  t.context.sellers = [await insertSeller(app.owner), await insertSeller(app.owner)];
});

test.after.always(async (t) => {
  await t.context.app?.stop();
});

const platform = () => signJwt({ role: "settle_platform" });

/**
 * A paid order of 1000 + 500 whose payment exists at the fake and succeeded there
 * (so the fake accepts refunds of it): confirmed through the API, settled at the
 * fake, and marked paid as the payment webhook would.
 */
async function paidOrder(t: ExecutionContext<Context>) {
  const { app, buyer, sellers } = t.context;
  const { orderId, itemIds } = await insertOrder(app.owner, buyer, [
    { sellerId: sellers[0], amount: 1000, platformFee: 100 },
    { sellerId: sellers[1], amount: 500, platformFee: 50 },
  ]);
  const confirmed = await graphql(
    app.running.url,
    "mutation ($orderId: UUID!) { confirmOrder(input: { orderId: $orderId }) { order { id } } }",
    { token: await platform(), variables: { orderId } },
  );
  dataOf(confirmed, "confirmOrder");
  app.fake.settlePayment(orderId, { status: "succeeded" });
  const { rows } = await app.owner.query<{ applied: string }>(
    "select settle_private.apply_payment_succeeded($1, $2, now()) as applied",
    [orderId, orderId],
  );
  if (rows[0]!.applied !== "applied") throw new Error(`payment not applied: ${rows[0]!.applied}`);
  return { orderId, itemIds: itemIds as [string, string] };
}

const REFUND = `mutation ($input: RefundOrderInput!) {
  refundOrder(input: $input) {
    clientMutationId
    refund { id orderId amount reason status hyperswitchRefundId }
  }
}`;

interface RefundData {
  clientMutationId: string | null;
  refund: {
    id: string;
    orderId: string;
    amount: string;
    reason: string | null;
    status: string;
    hyperswitchRefundId: string | null;
  };
}

async function refund(app: FlowsApp, input: object, token?: string): Promise<GraphQLResponse> {
  return graphql(app.running.url, REFUND, {
    token: token ?? (await platform()),
    variables: { input },
  });
}

/** What the refund wrote: its rows and their items, counted as the database has them. */
async function written(app: FlowsApp, orderId: string) {
  const { rows } = await app.owner.query<{ refunds: string; items: string }>(
    `select (select count(*) from settle.refunds where order_id = $1) as refunds,
            (select count(*) from settle.refund_items ri join settle.refunds f on f.id = ri.refund_id
             where f.order_id = $1) as items`,
    [orderId],
  );
  return { refunds: Number(rows[0]!.refunds), items: Number(rows[0]!.items) };
}

const refundPosts = (app: FlowsApp) => app.fake.requests({ method: "POST", path: "/refunds" });

/** The one POST /refunds since `before`, parsed. */
function onlyRefundPost(t: ExecutionContext, app: FlowsApp, before: number) {
  const posts = refundPosts(app).slice(before);
  t.is(posts.length, 1, "one POST /refunds");
  return {
    body: JSON.parse(posts[0]!.body) as {
      refund_id: string;
      payment_id: string;
      amount: number;
      reason?: string;
    },
    key: posts[0]!.headers["idempotency-key"],
  };
}

function assertClean(t: ExecutionContext, response: GraphQLResponse): void {
  for (const error of response.body.errors ?? []) {
    t.not(error.extensions?.code, "INTERNAL", error.message);
    t.notRegex(
      error.message,
      /settle_api|settle_private|\bselect\b|at RAISE|\.ts:\d|Internal error/i,
    );
  }
}

test.serial(
  "a full refund: the PSP gets refund_id = the row's id, and the refund is processing with the PSP's id",
  async (t) => {
    const { app } = t.context;
    const { orderId } = await paidOrder(t);
    const before = refundPosts(app).length;
    const response = await refund(app, { orderId, clientMutationId: "r-1" });
    t.deepEqual(response.body.errors, undefined);
    const { clientMutationId, refund: row } = dataOf<RefundData>(response, "refundOrder");
    t.is(clientMutationId, "r-1");
    t.like(row, { orderId, amount: "1500", reason: null, status: "processing" });
    const sent = onlyRefundPost(t, app, before);
    t.deepEqual(
      { refundId: sent.body.refund_id, paymentId: sent.body.payment_id, amount: sent.body.amount },
      { refundId: row.id, paymentId: orderId, amount: 1500 },
    );
    t.is(sent.key, row.id);
    const atPsp = app.fake.refund(row.id);
    t.is(atPsp?.status, "pending", "the PSP has it, settling later");
    t.is(row.hyperswitchRefundId, atPsp?.refund_id ?? "(none at the PSP)");
    t.deepEqual(await written(app, orderId), { refunds: 1, items: 0 });
  },
);

test.serial("a partial refund by amount, with a reason", async (t) => {
  const { app } = t.context;
  const { orderId } = await paidOrder(t);
  const before = refundPosts(app).length;
  const response = await refund(app, { orderId, amount: "400", reason: "damaged in transit" });
  t.deepEqual(response.body.errors, undefined);
  const { refund: row } = dataOf<RefundData>(response, "refundOrder");
  t.like(row, { amount: "400", reason: "damaged in transit", status: "processing" });
  const sent = onlyRefundPost(t, app, before);
  t.is(sent.body.amount, 400);
  t.is(sent.body.reason, "damaged in transit");
  t.is(sent.body.refund_id, row.id);
});

test.serial("a refund by items refunds their sum and records each item", async (t) => {
  const { app } = t.context;
  const { orderId, itemIds } = await paidOrder(t);
  const before = refundPosts(app).length;
  const response = await refund(app, {
    orderId,
    items: [
      { orderItemId: itemIds[0], amount: "300" },
      { orderItemId: itemIds[1], amount: "250" },
    ],
  });
  t.deepEqual(response.body.errors, undefined);
  const { refund: row } = dataOf<RefundData>(response, "refundOrder");
  t.like(row, { amount: "550", status: "processing" });
  t.is(onlyRefundPost(t, app, before).body.amount, 550);
  const { rows } = await app.owner.query<{ order_item_id: string; amount: string }>(
    "select order_item_id, amount from settle.refund_items where refund_id = $1 order by amount",
    [row.id],
  );
  t.deepEqual(rows, [
    { order_item_id: itemIds[1], amount: "250" },
    { order_item_id: itemIds[0], amount: "300" },
  ]);
});

test.serial("more than was paid is REFUND_EXCEEDS_PAID and writes nothing", async (t) => {
  const { app } = t.context;
  const { orderId } = await paidOrder(t);
  const before = refundPosts(app).length;
  const response = await refund(app, { orderId, amount: "1501" });
  t.is(errorCode(response), "REFUND_EXCEEDS_PAID");
  t.regex(response.body.errors![0]!.message, /exceeds what is left to refund/);
  t.is(response.body.data?.refundOrder, null);
  assertClean(t, response);
  t.deepEqual(await written(app, orderId), { refunds: 0, items: 0 });
  t.is(refundPosts(app).length, before, "the PSP was not called");
});

test.serial(
  "a second refund while one is in flight is REFUND_IN_FLIGHT and writes nothing",
  async (t) => {
    const { app } = t.context;
    const { orderId } = await paidOrder(t);
    const first = await refund(app, { orderId, amount: "100" });
    t.is(dataOf<RefundData>(first, "refundOrder").refund.status, "processing");
    const before = refundPosts(app).length;
    const second = await refund(app, { orderId, amount: "100" });
    t.is(errorCode(second), "REFUND_IN_FLIGHT");
    t.regex(second.body.errors![0]!.message, /still processing/);
    assertClean(t, second);
    t.deepEqual(await written(app, orderId), { refunds: 1, items: 0 });
    t.is(refundPosts(app).length, before, "the PSP was not called");
  },
);

test.serial(
  "a buyer may not refund, not even its own order: FORBIDDEN, nothing written",
  async (t) => {
    const { app, buyer } = t.context;
    const { orderId } = await paidOrder(t);
    const response = await refund(
      app,
      { orderId },
      await signJwt({ role: "settle_buyer", sub: buyer }),
    );
    t.is(errorCode(response), "FORBIDDEN");
    assertClean(t, response);
    t.deepEqual(await written(app, orderId), { refunds: 0, items: 0 });
  },
);

test.serial(
  "bad refund input is VALIDATION with a precise message, and writes nothing",
  async (t) => {
    const { app } = t.context;
    const { orderId, itemIds } = await paidOrder(t);
    const other = await paidOrder(t);
    const before = refundPosts(app).length;
    const cases: Array<[object, RegExp]> = [
      [
        { orderId, items: [{ orderItemId: other.itemIds[0], amount: "100" }] },
        /^items\[0\]\.orderItemId: .* is not an item of order/,
      ],
      [{ orderId, amount: "-5" }, /^amount: must be a positive integer/],
      [
        { orderId, items: [{ orderItemId: itemIds[0], amount: "0" }] },
        /^items\[0\]\.amount: must be a positive/,
      ],
      [{ orderId, amount: "12.50" }, /^amount: must be an integer number of minor units/],
      [
        { orderId, amount: "99999999999999999999" },
        /^amount: must be an integer number of minor units/,
      ],
      [
        { orderId, amount: "100", items: [{ orderItemId: itemIds[0], amount: "50" }] },
        /^amount: 100 does not equal the sum of the items 50/,
      ],
      [{ orderId, reason: "x".repeat(501) }, /^reason: at most 500 characters/],
    ];
    for (const [input, message] of cases) {
      const response = await refund(app, input);
      const label = JSON.stringify(input).slice(0, 120);
      t.is(errorCode(response), "VALIDATION", label);
      t.regex(response.body.errors?.[0]?.message ?? "", message, label);
      assertClean(t, response);
    }
    t.deepEqual(await written(app, orderId), { refunds: 0, items: 0 });
    t.is(refundPosts(app).length, before, "the PSP was not called");
  },
);

test.serial(
  "a PSP refusal fails the refund, loudly: PSP_DECLINED with the PSP's code",
  async (t) => {
    const { app } = t.context;
    const { orderId } = await paidOrder(t);
    app.fake.inject({
      method: "POST",
      path: "/refunds",
      fault: {
        kind: "status",
        status: 400,
        body: {
          error: { type: "invalid_request", code: "IR_07", message: "Invalid value provided" },
        },
      },
    });
    const response = await refund(app, { orderId });
    t.is(errorCode(response), "PSP_DECLINED");
    t.is(response.body.errors![0]!.extensions?.pspCode, "IR_07");
    assertClean(t, response);
    const { rows } = await app.owner.query<{ status: string; last_error: string }>(
      "select status, last_error from settle.refunds where order_id = $1",
      [orderId],
    );
    t.is(rows.length, 1);
    t.is(rows[0]!.status, "failed");
    t.regex(rows[0]!.last_error, /IR_07/);
  },
);

test.serial(
  "an unreachable PSP leaves the refund pending for the retry job, without an error",
  async (t) => {
    const { app } = t.context;
    const { orderId } = await paidOrder(t);
    app.fake.inject({ method: "POST", path: "/refunds", fault: { kind: "status", status: 500 } });
    const response = await refund(app, { orderId, amount: "700" });
    t.deepEqual(response.body.errors, undefined);
    const { refund: row } = dataOf<RefundData>(response, "refundOrder");
    t.like(row, { amount: "700", status: "pending", hyperswitchRefundId: null });
    t.is(app.fake.refund(row.id), undefined, "the PSP has no such refund");
    const { rows } = await app.owner.query("select 1 from graphile_worker.jobs where key = $1", [
      `refunds:${row.id}`,
    ]);
    t.is(rows.length, 1, "the refunds__send job waits for it");
  },
);
