/**
 * SPEC §6 "Errors carry a stable extensions.code" for errors in the request
 * itself (src/graphql/request-errors.ts): a document that does not parse is
 * GRAPHQL_PARSE_FAILED; one that does not validate, and variables that do not
 * coerce, are VALIDATION. GraphQL's message is kept, naming the field or
 * variable, and nothing runs.
 */
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { insertBuyer, insertOrder, insertSeller } from "../support/sql.ts";
import {
  errorCode,
  type FlowsApp,
  type GraphQLResponse,
  graphql,
  signJwt,
  useFlowsApp,
} from "./helpers.ts";

const test = anyTest as TestFn<{ app: FlowsApp }>;
useFlowsApp(test);

const GRAPHQL_RESPONSE = "application/graphql-response+json";

/** A pending order: every bad request below names it, and it must stay pending. */
async function pendingOrder(app: FlowsApp) {
  const buyer = await insertBuyer(app.owner);
  const seller = await insertSeller(app.owner);
  return insertOrder(app.owner, buyer, [{ sellerId: seller, amount: 1000 }]);
}

async function orderStatus(app: FlowsApp, orderId: string) {
  const { rows } = await app.owner.query<{ status: string }>(
    "select status from settle.orders where id = $1",
    [orderId],
  );
  return rows[0]?.status;
}

async function send(
  app: FlowsApp,
  query: string,
  variables?: object,
  accept = GRAPHQL_RESPONSE,
): Promise<GraphQLResponse> {
  return graphql(app.running.url, query, {
    token: await signJwt({ role: "settle_platform" }),
    accept,
    ...(variables ? { variables } : {}),
  });
}

/** A request error: HTTP 400, no data (nothing ran), the code and GraphQL's message. */
function assertRequestError(
  t: ExecutionContext<{ app: FlowsApp }>,
  response: GraphQLResponse,
  code: string,
  message: RegExp,
  label: string,
) {
  t.is(response.status, 400, label);
  t.false("data" in response.body, label);
  t.is(response.body.errors?.length, 1, `${label}: ${JSON.stringify(response.body)}`);
  t.is(errorCode(response), code, `${label}: ${JSON.stringify(response.body)}`);
  t.regex(response.body.errors?.[0]?.message ?? "", message, label);
}

test("input that fails validation is VALIDATION, naming the field, and writes nothing", async (t) => {
  const { app } = t.context;
  const { orderId, itemIds } = await pendingOrder(app);
  const cases: [string, RegExp][] = [
    // The audit's case: PostGraphile's UUID scalar says neither where nor which field.
    [
      `mutation { cancelOrder(input: { orderId: "nope" }) { order { id } } }`,
      /^input\.orderId: Invalid UUID, expected 32 hexadecimal characters/,
    ],
    [
      `mutation { refundOrder(input: { orderId: "${orderId}", amount: 12.5 }) { refund { id } } }`,
      /^input\.amount: BigInt can only parse string values/,
    ],
    [
      `mutation { refundOrder(input: { orderId: "${orderId}", items: [{ orderItemId: "${itemIds[0]}", amount: "1" }, { orderItemId: "x", amount: "1" }] }) { refund { id } } }`,
      /^input\.items\[1\]\.orderItemId: Invalid UUID/,
    ],
    [
      `mutation { cancelOrder(input: {}) { order { id } } }`,
      /^Field "CancelOrderInput\.orderId" of required type "UUID!" was not provided\.$/,
    ],
    [
      `mutation { cancelOrder(input: { orderId: "${orderId}", bogus: 1 }) { order { id } } }`,
      /^Field "bogus" is not defined by type "CancelOrderInput"\./,
    ],
    [`{ nope }`, /^Cannot query field "nope" on type "Query"\./],
  ];
  for (const [query, message] of cases) {
    // Twice: the second answer comes from grafserv's cache of parsed documents.
    for (const attempt of [1, 2]) {
      const response = await send(app, query);
      assertRequestError(t, response, "VALIDATION", message, `${query} (#${attempt})`);
      t.truthy(response.body.errors?.[0]?.locations, `${query}: the location is given`);
    }
  }
  t.is(await orderStatus(app, orderId), "pending");
});

test("variables of the wrong type are VALIDATION with GraphQL's message naming the variable", async (t) => {
  const { app } = t.context;
  const { orderId } = await pendingOrder(app);
  const cancel = `mutation ($id: UUID!) { cancelOrder(input: { orderId: $id }) { order { id } } }`;
  const cancelInput = `mutation ($input: CancelOrderInput!) { cancelOrder(input: $input) { order { id } } }`;
  const refund = `mutation ($id: UUID!, $amount: BigInt!) { refundOrder(input: { orderId: $id, amount: $amount }) { refund { id } } }`;
  const cases: [string, object, RegExp][] = [
    [cancel, { id: "nope" }, /^Variable "\$id" got invalid value "nope"; Invalid UUID/],
    [cancel, {}, /^Variable "\$id" of required type "UUID!" was not provided\.$/],
    [
      cancelInput,
      { input: { orderId, extra: 1 } },
      /^Variable "\$input" got invalid value .*; Field "extra" is not defined by type "CancelOrderInput"\./,
    ],
    [
      cancelInput,
      { input: { orderId: "x" } },
      /^Variable "\$input" got invalid value "x" at "input\.orderId"; Invalid UUID/,
    ],
    [
      refund,
      { id: orderId, amount: null },
      /^Variable "\$amount" of non-null type "BigInt!" must not be null\.$/,
    ],
  ];
  for (const [query, variables, message] of cases) {
    const label = `${query} ${JSON.stringify(variables)}`;
    assertRequestError(t, await send(app, query, variables), "VALIDATION", message, label);
  }
  t.is(await orderStatus(app, orderId), "pending");
});

test("an unknown operation name is VALIDATION", async (t) => {
  const response = await graphql(
    t.context.app.running.url,
    "query A { __typename } query B { __typename }",
    { token: await signJwt({ role: "settle_platform" }), accept: GRAPHQL_RESPONSE },
  );
  // The helper sends no operationName; GraphQL asks for one.
  assertRequestError(
    t,
    response,
    "VALIDATION",
    /^Must provide operation name if query contains multiple operations\.$/,
    "two operations",
  );
});

test("a syntax error is GRAPHQL_PARSE_FAILED with GraphQL's message and location", async (t) => {
  const { app } = t.context;
  const { orderId } = await pendingOrder(app);
  const cases: [string, RegExp][] = [
    [
      `mutation { cancelOrder(input: { orderId: }) { order { id } } }`,
      /^Syntax Error: Unexpected "}"\.$/,
    ],
    [
      `mutation { cancelOrder(input: { orderId: "${orderId}" }) { order { id }`,
      /^Syntax Error: Expected Name, found <EOF>\.$/,
    ],
    [`not graphql`, /^Syntax Error: Unexpected Name "not"\.$/],
  ];
  for (const [query, message] of cases) {
    const response = await send(app, query);
    assertRequestError(t, response, "GRAPHQL_PARSE_FAILED", message, query);
    t.truthy(response.body.errors?.[0]?.locations, query);
  }
  t.is(await orderStatus(app, orderId), "pending");
});

test("a client that accepts only application/json gets the same codes with HTTP 200", async (t) => {
  const { app } = t.context;
  const syntax = await send(app, "{", undefined, "application/json");
  t.is(syntax.status, 200);
  t.is(errorCode(syntax), "GRAPHQL_PARSE_FAILED");
  const invalid = await send(
    app,
    `mutation { cancelOrder(input: { orderId: "nope" }) { order { id } } }`,
    undefined,
    "application/json",
  );
  t.is(invalid.status, 200);
  t.is(errorCode(invalid), "VALIDATION");
});
