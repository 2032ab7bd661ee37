/**
 * SPEC §4 roles and §6 GraphQL surface, through HTTP as a client sees them: row
 * uuids as ids, no generated CRUD, each JWT role seeing its own rows (RLS), bad
 * tokens refused, errors with stable codes.
 */
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { insertBuyer, insertOrder, insertSeller } from "../support/sql.ts";
import {
  dataOf,
  errorCode,
  graphql,
  idsOf,
  type RunningApp,
  signJwt,
  startTestApp,
  TEST_JWT_SECRET,
} from "./helpers.ts";

interface World {
  buyers: [string, string];
  sellers: [string, string];
  orders: [string, string]; // order i belongs to buyer i
  transfers: [string, string]; // transfer i goes to seller i
}

const test = anyTest as TestFn<{ running: RunningApp; world: World }>;

test.before(async (t) => {
  const running = await startTestApp();
  t.context.running = running;
  // Seeded as the database owner would, outside the API (which has no table writes).
  const pool = new pg.Pool({ connectionString: running.db.url, max: 2 });
  try {
    const buyers: [string, string] = [await insertBuyer(pool), await insertBuyer(pool)];
    const sellers: [string, string] = [await insertSeller(pool), await insertSeller(pool)];
    const o0 = await insertOrder(pool, buyers[0], [
      { sellerId: sellers[0], amount: 1000, platformFee: 100 },
      { sellerId: sellers[1], amount: 500, platformFee: 50 },
    ]);
    const o1 = await insertOrder(pool, buyers[1], [{ sellerId: sellers[1], amount: 300 }]);
    const transfer = async (seller: string, amount: number) =>
      (
        await pool.query<{ id: string }>(
          "insert into settle.seller_transfers (order_id, seller_id, amount, currency) values ($1, $2, $3, 'EUR') returning id",
          [o0.orderId, seller, amount],
        )
      ).rows[0]!.id;
    const transfers: [string, string] = [
      await transfer(sellers[0], 900),
      await transfer(sellers[1], 450),
    ];
    t.context.world = { buyers, sellers, orders: [o0.orderId, o1.orderId], transfers };
  } finally {
    await pool.end();
  }
});

test.after.always(async (t) => {
  await t.context.running?.stop();
});

const as = (role: string, sub?: string) => signJwt(sub ? { role, sub } : { role });

interface IntrospectedType {
  name: string;
  kind: string;
  interfaces: { name: string }[] | null;
  fields: { name: string; type: TypeRef }[] | null;
  inputFields: { name: string; type: TypeRef }[] | null;
}
interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
const named = (ref: TypeRef): string => ref.name ?? (ref.ofType ? named(ref.ofType) : "?");

async function introspect(url: string): Promise<Map<string, IntrospectedType>> {
  const ref = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
  const response = await graphql(
    url,
    `{ __schema { mutationType { name } queryType { name } types {
         name kind interfaces { name }
         fields { name type { ${ref} } }
         inputFields { name type { ${ref} } } } } }`,
  );
  const schema = response.body.data?.__schema as { types: IntrospectedType[] };
  return new Map(schema.types.map((type) => [type.name, type]));
}

/** The table types: every object type that has a non-null `id` column besides the roots. */
function tableTypes(types: Map<string, IntrospectedType>): IntrospectedType[] {
  return [...types.values()].filter(
    (type) =>
      type.kind === "OBJECT" &&
      !type.name.startsWith("__") &&
      !type.name.endsWith("Payload") &&
      type.fields?.some((field) => field.name === "id"),
  );
}

test("the id of every table type is its uuid column, with no Relay node ids", async (t) => {
  const types = await introspect(t.context.running.url);
  const tables = tableTypes(types);
  t.true(tables.length >= 12, `table types: ${tables.map((x) => x.name).join(", ")}`);
  for (const type of tables) {
    const id = type.fields!.find((field) => field.name === "id")!;
    // state_transitions is a log keyed by a bigserial; every entity row is a uuid.
    const expected = type.name === "StateTransition" ? "BigInt" : "UUID";
    t.is(named(id.type), expected, `${type.name}.id`);
    t.is(id.type.kind, "NON_NULL", `${type.name}.id is non-null`);
    t.false(
      type.fields!.some((field) => field.name === "rowId" || field.name === "nodeId"),
      `${type.name} has no rowId/nodeId`,
    );
    t.deepEqual(type.interfaces ?? [], [], `${type.name} implements no Node interface`);
  }
  t.false(types.has("Node"), "no Node interface");
  const query = types.get("Query")!;
  t.false(
    query.fields!.some((field) => field.name === "node" || field.name === "nodeId"),
    "no node(id:) root field",
  );
  t.is(named(query.fields!.find((field) => field.name === "orderById")!.type), "Order");
  const orderType = types.get("Order")!;
  t.is(named(orderType.fields!.find((field) => field.name === "buyerId")!.type), "UUID");
  // Inputs take UUIDs too.
  const createOrder = types.get("CreateOrderInput")!;
  t.is(named(createOrder.inputFields!.find((field) => field.name === "buyerId")!.type), "UUID");
});

test("money is BigInt", async (t) => {
  const types = await introspect(t.context.running.url);
  const field = (type: string, name: string) =>
    named(types.get(type)!.fields!.find((f) => f.name === name)!.type);
  t.is(field("Order", "totalAmount"), "BigInt");
  t.is(field("OrderItem", "amount"), "BigInt");
  t.is(field("OrderItem", "platformFee"), "BigInt");
  t.is(field("SellerTransfer", "amount"), "BigInt");
  t.is(field("Refund", "amount"), "BigInt");
});

test("no generated create, update or delete mutations: only the custom functions", async (t) => {
  const types = await introspect(t.context.running.url);
  const mutations = types.get("Mutation")!.fields!.map((field) => field.name);
  t.true(mutations.includes("registerSeller") && mutations.includes("createOrder"));
  t.deepEqual(
    mutations.filter((name) => /^(update|delete)/.test(name)),
    [],
  );
  // A generated create takes `<Table>Input`, a generated update `<Table>Patch`.
  for (const type of tableTypes(types)) {
    t.false(types.has(`${type.name}Input`), `${type.name}Input exists`);
    t.false(types.has(`${type.name}Patch`), `${type.name}Patch exists`);
  }
  const createOrderInput = types.get("CreateOrderInput")!.inputFields!.map((f) => f.name);
  t.false(
    createOrderInput.includes("order"),
    "createOrder is the function, not a generated insert",
  );
});

test("a fetched row's id is the uuid in the database", async (t) => {
  const { running, world } = t.context;
  const response = await graphql(
    running.url,
    `query ($id: UUID!) { orderById(id: $id) { id buyerId totalAmount currency status } }`,
    { token: await as("settle_platform"), variables: { id: world.orders[0] } },
  );
  t.deepEqual(response.body.errors, undefined);
  t.deepEqual(response.body.data?.orderById, {
    id: world.orders[0],
    buyerId: world.buyers[0],
    totalAmount: "1500",
    currency: "EUR",
    status: "pending",
  });
});

test("anonymous requests see nothing in settle", async (t) => {
  const { running } = t.context;
  for (const field of ["allOrders", "allSellers", "allBuyers", "allSellerTransfers"]) {
    const response = await graphql(running.url, `{ ${field} { nodes { id } } }`);
    t.is(response.status, 200);
    t.is(errorCode(response), "FORBIDDEN", field);
    t.is(response.body.data?.[field], null, field);
  }
});

test("a buyer sees only its own orders", async (t) => {
  const { running, world } = t.context;
  const token = await as("settle_buyer", world.buyers[0]);
  const response = await graphql(
    running.url,
    `query ($other: UUID!) {
       allOrders { nodes { id } }
       allBuyers { nodes { id } }
       other: orderById(id: $other) { id }
     }`,
    { token, variables: { other: world.orders[1] } },
  );
  t.deepEqual(response.body.errors, undefined);
  t.deepEqual(idsOf(response, "allOrders"), [world.orders[0]]);
  t.deepEqual(idsOf(response, "allBuyers"), [world.buyers[0]]);
  t.is(response.body.data?.other, null);
});

test("a seller sees only its own transfers", async (t) => {
  const { running, world } = t.context;
  for (const i of [0, 1] as const) {
    const response = await graphql(
      running.url,
      "{ allSellerTransfers { nodes { id sellerId } } }",
      {
        token: await as("settle_seller", world.sellers[i]),
      },
    );
    t.deepEqual(response.body.errors, undefined);
    const { nodes } = dataOf<{ nodes: { id: string; sellerId: string }[] }>(
      response,
      "allSellerTransfers",
    );
    t.deepEqual(idsOf(response, "allSellerTransfers"), [world.transfers[i]]);
    t.true(nodes.every((node) => node.sellerId === world.sellers[i]));
  }
  // A seller has no business with orders as such.
  const orders = await graphql(running.url, "{ allOrders { nodes { id } } }", {
    token: await as("settle_seller", world.sellers[0]),
  });
  t.is(errorCode(orders), "FORBIDDEN");
});

test("the platform sees every order and transfer", async (t) => {
  const { running, world } = t.context;
  const response = await graphql(
    running.url,
    "{ allOrders { nodes { id } } allSellerTransfers { nodes { id } } }",
    { token: await as("settle_platform") },
  );
  t.deepEqual(response.body.errors, undefined);
  t.deepEqual(idsOf(response, "allOrders"), [...world.orders].sort());
  t.deepEqual(idsOf(response, "allSellerTransfers"), [...world.transfers].sort());
});

test("a token we cannot trust is refused with 401 UNAUTHENTICATED, never served as anonymous", async (t) => {
  const { running, world } = t.context;
  const cases: [string, string][] = [
    [
      "wrong signature",
      `Bearer ${await signJwt({ role: "settle_platform" }, { secret: "x".repeat(40) })}`,
    ],
    [
      "expired",
      `Bearer ${await signJwt({ role: "settle_platform" }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
    ],
    ["no exp", `Bearer ${await signJwt({ role: "settle_platform" }, { expiresIn: null })}`],
    ["unknown role", `Bearer ${await signJwt({ role: "postgres" })}`],
    ["anonymous role claimed", `Bearer ${await signJwt({ role: "settle_anonymous" })}`],
    ["buyer without sub", `Bearer ${await signJwt({ role: "settle_buyer" })}`],
    ["sub not a uuid", `Bearer ${await signJwt({ role: "settle_buyer", sub: "1 or 1=1" })}`],
    ["not a JWT", "Bearer not-a-jwt"],
    ["not Bearer", `Basic ${Buffer.from("a:b").toString("base64")}`],
  ];
  const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(
    JSON.stringify({ role: "settle_platform", exp: 9999999999 }),
  ).toString("base64url")}.`;
  cases.push(["alg none", `Bearer ${unsigned}`]);
  for (const [name, authorization] of cases) {
    const response = await graphql(running.url, "{ allOrders { nodes { id } } }", {
      authorization,
    });
    t.is(response.status, 401, name);
    t.is(errorCode(response), "UNAUTHENTICATED", name);
    t.is(response.body.data, undefined, name);
  }
  // Sanity: the same secret with a valid token works, so the refusals above are about the tokens.
  const ok = await graphql(running.url, "{ allOrders { nodes { id } } }", {
    token: await signJwt(
      { role: "settle_buyer", sub: world.buyers[1] },
      { secret: TEST_JWT_SECRET },
    ),
  });
  t.is(ok.status, 200);
  t.deepEqual(idsOf(ok, "allOrders"), [world.orders[1]]);
});

test("the database's own errors reach the caller with a stable code", async (t) => {
  const { running } = t.context;
  const platform = await as("settle_platform");
  const invalid = await graphql(
    running.url,
    `mutation { registerSeller(input: { name: "Shop", stripeAccountId: "not-an-account" }) { seller { id } } }`,
    { token: platform },
  );
  t.is(errorCode(invalid), "VALIDATION");
  t.regex(
    invalid.body.errors![0]!.message,
    /^stripeAccountId: must be a Stripe connected account id/,
  );

  const created = await graphql(
    running.url,
    `mutation { registerBuyer(input: { email: "ann@example.com" }) { buyer { id email } } }`,
    { token: platform },
  );
  t.deepEqual(created.body.errors, undefined);
  const { buyer } = dataOf<{ buyer: { id: string; email: string } }>(created, "registerBuyer");
  t.regex(buyer.id, /^[0-9a-f-]{36}$/);
  t.is(buyer.email, "ann@example.com");

  // A buyer may not register parties: no grant on the function. Postgres says
  // "permission denied for function ..."; the caller gets a clean FORBIDDEN.
  const forbidden = await graphql(
    running.url,
    `mutation { registerBuyer(input: { email: "eve@example.com" }) { buyer { id } } }`,
    { token: await as("settle_buyer", t.context.world.buyers[0]) },
  );
  t.is(errorCode(forbidden), "FORBIDDEN");
  t.notRegex(forbidden.body.errors![0]!.message, /permission denied|function|settle\./);
});

test("GraphiQL is served at /graphiql", async (t) => {
  const response = await fetch(`${t.context.running.url}/graphiql`, {
    headers: { accept: "text/html" },
  });
  t.is(response.status, 200);
  t.regex(response.headers.get("content-type") ?? "", /text\/html/);
});
