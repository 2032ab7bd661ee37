/**
 * SPEC §5 Confirm and §6 through HTTP: the flow mutations' shapes, and confirmOrder
 * / cancelOrder against the fake Hyperswitch, including its refusals and outages.
 * (Refunds and admin retries: the sibling flow-mutations-*.test.ts files.)
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
  startTestApp,
} from "./helpers.ts";

// Serial tests: a fault injected into the one fake must hit the test that injected it.
const test = anyTest as TestFn<{ app: FlowsApp; buyers: [string, string]; seller: string }>;

test.before(async (t) => {
  const app = await startFlowsApp();
  t.context.app = app;
  t.context.buyers = [await insertBuyer(app.owner), await insertBuyer(app.owner)];
  t.context.seller = await insertSeller(app.owner);
});

test.after.always(async (t) => {
  await t.context.app?.stop();
});

/** A fresh pending order of buyer 0: 1000 + 500 EUR cents. */
async function pendingOrder(
  t: ExecutionContext<{ app: FlowsApp; buyers: [string, string]; seller: string }>,
) {
  const { orderId } = await insertOrder(t.context.app.owner, t.context.buyers[0], [
    { sellerId: t.context.seller, amount: 1000, platformFee: 100 },
    { sellerId: t.context.seller, amount: 500 },
  ]);
  return orderId;
}

const buyer = (sub: string) => signJwt({ role: "settle_buyer", sub });
const platform = () => signJwt({ role: "settle_platform" });

const CONFIRM = `mutation ($orderId: UUID!, $cmid: String) {
  confirmOrder(input: { orderId: $orderId, clientMutationId: $cmid }) {
    clientMutationId clientSecret order { id status buyerId totalAmount }
  }
}`;
const CANCEL = `mutation ($orderId: UUID!) {
  cancelOrder(input: { orderId: $orderId }) { order { id status } }
}`;

async function orderRow(app: FlowsApp, orderId: string) {
  const { rows } = await app.owner.query<{
    status: string;
    psp_payment_id: string | null;
    last_error: string | null;
  }>("select status, psp_payment_id, last_error from settle.orders where id = $1", [orderId]);
  return rows[0]!;
}

const paymentPosts = (app: FlowsApp) => app.fake.requests({ method: "POST", path: "/payments" });

/** Errors show the caller a stable code and our own words: no SQL, no internals. */
function assertClean(t: ExecutionContext, response: GraphQLResponse): void {
  for (const error of response.body.errors ?? []) {
    t.not(error.extensions?.code, "INTERNAL", error.message);
    t.notRegex(
      error.message,
      /settle_api|settle_private|\bselect\b|at RAISE|\.ts:\d|Internal error/i,
    );
  }
}

// --- shapes -------------------------------------------------------------------------

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface Field {
  name: string;
  type: TypeRef;
  args?: { name: string; type: TypeRef }[];
}
interface IntrospectedType {
  name: string;
  fields: Field[] | null;
  inputFields: Field[] | null;
}

/** `UUID!`, `[RefundOrderItemInput!]`, … as SDL writes it. */
function sdl(ref: TypeRef): string {
  if (ref.kind === "NON_NULL") return `${sdl(ref.ofType!)}!`;
  if (ref.kind === "LIST") return `[${sdl(ref.ofType!)}]`;
  return ref.name!;
}

async function introspect(url: string): Promise<Map<string, IntrospectedType>> {
  const ref = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
  const response = await graphql(
    url,
    `{ __schema { types { name
         fields { name type { ${ref} } args { name type { ${ref} } } }
         inputFields { name type { ${ref} } } } } }`,
  );
  const schema = response.body.data?.__schema as { types: IntrospectedType[] };
  return new Map(schema.types.map((type) => [type.name, type]));
}

const shape = (fields: Field[] | null | undefined) =>
  Object.fromEntries((fields ?? []).map((field) => [field.name, sdl(field.type)]));

const FLOW_MUTATIONS = {
  confirmOrder: {
    input: { clientMutationId: "String", orderId: "UUID!" },
    payload: { clientMutationId: "String", order: "Order", clientSecret: "String" },
  },
  cancelOrder: {
    input: { clientMutationId: "String", orderId: "UUID!" },
    payload: { clientMutationId: "String", order: "Order" },
  },
  refundOrder: {
    input: {
      clientMutationId: "String",
      orderId: "UUID!",
      amount: "BigInt",
      reason: "String",
      items: "[RefundOrderItemInput!]",
    },
    payload: { clientMutationId: "String", refund: "Refund" },
  },
  retryTransfer: {
    input: { clientMutationId: "String", transferId: "UUID!", reason: "String!" },
    payload: { clientMutationId: "String", transfer: "SellerTransfer" },
  },
  retryReversal: {
    input: { clientMutationId: "String", reversalId: "UUID!", reason: "String!" },
    payload: { clientMutationId: "String", reversal: "TransferReversal" },
  },
};

test.serial(
  "the flow mutations take one input and answer with the tables' own types",
  async (t) => {
    const types = await introspect(t.context.app.running.url);
    const mutation = new Map((types.get("Mutation")!.fields ?? []).map((f) => [f.name, f]));
    for (const [name, expected] of Object.entries(FLOW_MUTATIONS)) {
      const field = mutation.get(name);
      if (!field) {
        t.fail(`no mutation ${name}`);
        continue;
      }
      const Name = name[0]!.toUpperCase() + name.slice(1);
      t.deepEqual(shape(field.args), { input: `${Name}Input!` }, `${name} args`);
      t.is(sdl(field.type), `${Name}Payload`, `${name} type`);
      t.deepEqual(shape(types.get(`${Name}Input`)?.inputFields), expected.input, `${Name}Input`);
      t.deepEqual(shape(types.get(`${Name}Payload`)?.fields), expected.payload, `${Name}Payload`);
    }
    t.deepEqual(shape(types.get("RefundOrderItemInput")?.inputFields), {
      orderItemId: "UUID!",
      amount: "BigInt!",
    });
    // The payload types are the generated row types, not look-alikes.
    t.is(shape(types.get("Order")?.fields).totalAmount, "BigInt!");
    t.is(shape(types.get("Refund")?.fields).orderId, "UUID!");
    t.is(shape(types.get("SellerTransfer")?.fields).amount, "BigInt!");
    t.is(shape(types.get("TransferReversal")?.fields).sellerTransferId, "UUID!");
    // Still no generated CRUD: no update/delete mutations, no <Table>Input / <Table>Patch.
    t.deepEqual(
      [...mutation.keys()].filter((name) => /^(update|delete)/.test(name)),
      [],
    );
    for (const table of ["Order", "Refund", "SellerTransfer", "TransferReversal"]) {
      t.false(types.has(`${table}Input`) || types.has(`${table}Patch`), table);
    }
  },
);

test.serial("without flows the app has none of these mutations", async (t) => {
  const plain = await startTestApp({ taskList: {} });
  try {
    const types = await introspect(plain.url);
    const names = (types.get("Mutation")!.fields ?? []).map((f) => f.name);
    t.true(names.includes("createOrder"), "the function mutations are there");
    t.deepEqual(
      names.filter((name) => name in FLOW_MUTATIONS),
      [],
    );
  } finally {
    await plain.stop();
  }
});

// --- confirmOrder ------------------------------------------------------------------

test.serial(
  "confirmOrder by the order's buyer: payment_pending, a client secret, payment_id and key = order id",
  async (t) => {
    const { app, buyers } = t.context;
    const orderId = await pendingOrder(t);
    const before = paymentPosts(app).length;
    const response = await graphql(app.running.url, CONFIRM, {
      token: await buyer(buyers[0]),
      variables: { orderId, cmid: "checkout-1" },
    });
    t.deepEqual(response.body.errors, undefined);
    const result = dataOf<{
      clientMutationId: string;
      clientSecret: string;
      order: { id: string; status: string; buyerId: string; totalAmount: string };
    }>(response, "confirmOrder");
    t.is(result.clientMutationId, "checkout-1");
    t.deepEqual(result.order, {
      id: orderId,
      status: "payment_pending",
      buyerId: buyers[0],
      totalAmount: "1500",
    });
    t.truthy(result.clientSecret);
    t.is(result.clientSecret, app.fake.payment(orderId)?.client_secret ?? "(none at the PSP)");

    const posts = paymentPosts(app).slice(before);
    t.is(posts.length, 1);
    const body = JSON.parse(posts[0]!.body) as {
      payment_id: string;
      amount: number;
      currency: string;
    };
    t.is(body.payment_id, orderId);
    t.is(body.amount, 1500);
    t.is(body.currency, "EUR");
    t.is(posts[0]!.headers["idempotency-key"], orderId);
    t.like(await orderRow(app, orderId), { status: "payment_pending", psp_payment_id: orderId });
  },
);

test.serial(
  "confirming again resumes: the existing payment is adopted, never a second one",
  async (t) => {
    const { app, buyers } = t.context;
    const orderId = await pendingOrder(t);
    const token = await buyer(buyers[0]);
    const first = dataOf<{ clientSecret: string }>(
      await graphql(app.running.url, CONFIRM, { token, variables: { orderId } }),
      "confirmOrder",
    );
    const before = app.fake.requests().length;
    const again = await graphql(app.running.url, CONFIRM, { token, variables: { orderId } });
    t.deepEqual(again.body.errors, undefined);
    const second = dataOf<{ clientSecret: string; order: { status: string } }>(
      again,
      "confirmOrder",
    );
    t.is(second.clientSecret, first.clientSecret);
    t.is(second.order.status, "payment_pending");
    // The same payment_id again: Hyperswitch answers HE_01, and we look it up instead.
    const calls = app.fake.requests().slice(before);
    t.deepEqual(
      calls.map((r) => [r.method, r.path, r.outcome]),
      [
        ["POST", "/payments", 400],
        ["GET", `/payments/${orderId}`, 200],
      ],
    );
    t.is(app.fake.payments().filter((p) => p.payment_id === orderId).length, 1);
  },
);

test.serial(
  "confirmOrder by another buyer, a seller or anonymously is FORBIDDEN and calls nobody",
  async (t) => {
    const { app, buyers, seller } = t.context;
    const orderId = await pendingOrder(t);
    const before = app.fake.requests().length;
    const callers: Array<[string, string | undefined]> = [
      ["another buyer", await buyer(buyers[1])],
      ["a seller", await signJwt({ role: "settle_seller", sub: seller })],
      ["anonymous", undefined],
    ];
    for (const [who, token] of callers) {
      const response = await graphql(app.running.url, CONFIRM, { token, variables: { orderId } });
      t.is(errorCode(response), "FORBIDDEN", who);
      t.is(response.body.data?.confirmOrder, null, who);
      assertClean(t, response);
    }
    t.is(app.fake.requests().length, before);
    t.is((await orderRow(app, orderId)).status, "pending");
  },
);

test.serial("a PSP refusal fails the order and names the PSP's code: PSP_DECLINED", async (t) => {
  const { app } = t.context;
  const orderId = await pendingOrder(t);
  app.fake.inject({
    method: "POST",
    path: "/payments",
    fault: {
      kind: "status",
      status: 400,
      body: {
        error: { type: "invalid_request", code: "IR_07", message: "Invalid value provided: card" },
      },
    },
  });
  const response = await graphql(app.running.url, CONFIRM, {
    token: await platform(),
    variables: { orderId },
  });
  t.is(errorCode(response), "PSP_DECLINED");
  t.is(response.body.errors![0]!.extensions?.pspCode, "IR_07");
  t.regex(response.body.errors![0]!.message, /IR_07/);
  t.is(response.body.data?.confirmOrder, null);
  assertClean(t, response);
  const row = await orderRow(app, orderId);
  t.is(row.status, "failed");
  t.regex(row.last_error ?? "", /IR_07/);
});

for (const [name, fault] of [
  ["a 500", { kind: "status", status: 500 }],
  ["a dropped connection", { kind: "drop" }],
] as const) {
  test.serial(
    `${name} from the PSP is PSP_UNAVAILABLE and the order stays payment_pending, to confirm again`,
    async (t) => {
      const { app, buyers } = t.context;
      const orderId = await pendingOrder(t);
      const token = await buyer(buyers[0]);
      app.fake.inject({ method: "POST", path: "/payments", fault });
      const response = await graphql(app.running.url, CONFIRM, { token, variables: { orderId } });
      t.is(errorCode(response), "PSP_UNAVAILABLE");
      t.is(response.body.data?.confirmOrder, null);
      assertClean(t, response);
      const row = await orderRow(app, orderId);
      t.is(row.status, "payment_pending");
      t.truthy(row.last_error, "the outage is noted on the order");

      // The fault was before the PSP did anything: confirming again creates the payment.
      const again = await graphql(app.running.url, CONFIRM, { token, variables: { orderId } });
      t.deepEqual(again.body.errors, undefined);
      t.is(
        dataOf<{ order: { status: string } }>(again, "confirmOrder").order.status,
        "payment_pending",
      );
      t.is(app.fake.payments().filter((p) => p.payment_id === orderId).length, 1);
    },
  );
}

// --- cancelOrder -------------------------------------------------------------------

test.serial("cancelOrder cancels a pending order for its buyer", async (t) => {
  const { app, buyers } = t.context;
  const orderId = await pendingOrder(t);
  const response = await graphql(app.running.url, CANCEL, {
    token: await buyer(buyers[0]),
    variables: { orderId },
  });
  t.deepEqual(response.body.errors, undefined);
  t.deepEqual(dataOf(response, "cancelOrder"), { order: { id: orderId, status: "cancelled" } });
  t.is((await orderRow(app, orderId)).status, "cancelled");
});

test.serial(
  "cancelOrder of a paid order is an ILLEGAL_TRANSITION and changes nothing",
  async (t) => {
    const { app } = t.context;
    const orderId = await pendingOrder(t);
    await app.owner.query("update settle.orders set status = 'payment_pending' where id = $1", [
      orderId,
    ]);
    await app.owner.query("select settle_private.apply_payment_succeeded($1, $2, now())", [
      orderId,
      orderId,
    ]);
    const transitions = async () =>
      Number(
        (
          await app.owner.query(
            "select count(*) from settle.state_transitions where entity_id = $1",
            [orderId],
          )
        ).rows[0].count,
      );
    const before = await transitions();
    const response = await graphql(app.running.url, CANCEL, {
      token: await platform(),
      variables: { orderId },
    });
    t.is(errorCode(response), "ILLEGAL_TRANSITION");
    t.regex(response.body.errors![0]!.message, /is paid/);
    assertClean(t, response);
    t.is((await orderRow(app, orderId)).status, "paid");
    t.is(await transitions(), before, "no transition recorded");
  },
);
