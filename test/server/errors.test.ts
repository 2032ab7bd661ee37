/**
 * The GraphQL error boundary (src/graphql/errors.ts): Settle's SQLSTATEs and a few
 * standard ones become stable extensions.code values; everything else is masked
 * behind an error id that the log carries with the details.
 */
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { pino } from "pino";
import { GraphQLError } from "postgraphile/graphql";
import { makeMaskError } from "../../src/graphql/errors.ts";
import { errorCode, graphql, type RunningApp, signJwt, startTestApp } from "./helpers.ts";

interface LogLine {
  level: number;
  msg: string;
  errorId?: string;
  err?: { message?: string };
}

const test = anyTest as TestFn<{ client: pg.Client }>;

test.before(async (t) => {
  // Real driver errors, raised by a real server: the mapping reads their fields.
  t.context.client = new pg.Client({ connectionString: process.env.SETTLE_TEST_ADMIN_URL });
  await t.context.client.connect();
  await t.context.client.query(`
    create temporary table probe (
      id int primary key,
      v int constraint probe_v_positive check (v > 0),
      parent int constraint probe_parent_fkey references probe (id)
    )`);
  await t.context.client.query("insert into probe (id, v) values (1, 1)");
});

test.after.always(async (t) => {
  await t.context.client?.end();
});

function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** What the caller would see for the database error `sql` raises, as GraphQL would wrap it. */
async function masked(t: { context: { client: pg.Client } }, sql: string) {
  const { logger, lines } = capturingLogger();
  const original = await t.context.client.query(sql).then(
    () => {
      throw new Error(`expected ${sql} to fail`);
    },
    (error: unknown) => error as Error,
  );
  const wrapped = new GraphQLError(original.message, {
    path: ["someField"],
    originalError: original,
  });
  const result = makeMaskError(logger)(wrapped) as GraphQLError;
  return { result, lines };
}

const raise = (code: string, message: string, hint?: string) =>
  `do $$ begin raise exception '${message}' using errcode = '${code}'${hint ? `, hint = '${hint}'` : ""}; end $$`;

test.serial("Settle's own SQLSTATEs keep their message and map to stable codes", async (t) => {
  const cases: [string, string][] = [
    ["ILTRN", "ILLEGAL_TRANSITION"],
    ["INITS", "ILLEGAL_TRANSITION"],
    ["IMMUT", "IMMUTABLE"],
    ["TOTAL", "ORDER_TOTAL_MISMATCH"],
    ["RFEXC", "REFUND_EXCEEDS_PAID"],
    ["TREXC", "TRANSFER_EXCEEDS_SHARE"],
    ["RVEXC", "REVERSAL_EXCEEDS_TRANSFER"],
    ["RVREF", "REVERSAL_EXCEEDS_REFUNDS"],
    ["SUBGT", "SUBSCRIPTION_UNPAID"],
    ["VALID", "VALIDATION"],
  ];
  for (const [sqlstate, code] of cases) {
    const { result, lines } = await masked(
      t,
      raise(sqlstate, `rule ${sqlstate} says no`, "try this"),
    );
    t.is(result.message, `rule ${sqlstate} says no`);
    t.deepEqual(result.extensions, { code, hint: "try this" }, sqlstate);
    t.deepEqual(result.path, ["someField"]);
    t.is(lines.length, 0, "nothing to log: the caller got the whole story");
  }
});

test.serial(
  "standard SQLSTATEs get a clean message with the constraint, not Postgres' text",
  async (t) => {
    const unique = await masked(t, "insert into probe (id, v) values (1, 5)");
    t.deepEqual(unique.result.extensions, { code: "CONFLICT", constraint: "probe_pkey" });
    t.is(unique.result.message, "Already exists (constraint probe_pkey)");

    const check = await masked(t, "insert into probe (id, v) values (2, -1)");
    t.deepEqual(check.result.extensions, { code: "VALIDATION", constraint: "probe_v_positive" });
    t.notRegex(check.result.message, /new row|relation/);

    const fk = await masked(t, "insert into probe (id, v, parent) values (3, 1, 99)");
    t.deepEqual(fk.result.extensions, { code: "VALIDATION", constraint: "probe_parent_fkey" });

    const syntax = await masked(t, "select 'not-a-uuid'::uuid");
    t.deepEqual(syntax.result.extensions, { code: "VALIDATION" });

    await t.context.client.query("set role settle_anonymous");
    const forbidden = await masked(t, "select * from pg_authid").finally(() =>
      t.context.client.query("reset role"),
    );
    t.deepEqual(forbidden.result.extensions, { code: "FORBIDDEN" });
    t.is(forbidden.result.message, "Not allowed for this caller");

    // 42501 raised by one of our functions explains itself: its message is kept.
    const ours = await masked(t, raise("42501", "role settle_buyer may not do this"));
    t.is(ours.result.message, "role settle_buyer may not do this");
    t.deepEqual(ours.result.extensions, { code: "FORBIDDEN" });
  },
);

test.serial("any other database error is masked and logged with an error id", async (t) => {
  const { result, lines } = await masked(t, "select secret_column from pg_catalog.pg_class");
  t.regex(result.message, /^Internal error \(id [0-9a-f-]{36}\)$/);
  t.is(result.extensions.code, "INTERNAL");
  t.notRegex(JSON.stringify(result), /secret_column|pg_class/);
  t.is(lines.length, 1);
  t.is(lines[0]!.errorId, result.extensions.errorId as string);
  t.regex(lines[0]!.err?.message ?? "", /secret_column/);
});

test("a thrown JavaScript error is masked too; GraphQL's own errors pass", async (t) => {
  const { logger, lines } = capturingLogger();
  const mask = makeMaskError(logger);
  const internal = mask(
    new GraphQLError("x", { originalError: new Error("ECONNREFUSED 10.0.0.7:5432") }),
  ) as GraphQLError;
  t.is(internal.extensions.code, "INTERNAL");
  t.notRegex(internal.message, /10\.0\.0\.7/);
  t.is(lines.length, 1);
  const validation = new GraphQLError('Cannot query field "nope" on type "Query".');
  t.is(mask(validation), validation);
});

test("end to end: an internal error does not leak through the API", async (t) => {
  const { logger, lines } = capturingLogger();
  const running: RunningApp = await startTestApp({ logger });
  try {
    // Schema drift under a running server: the SQL PostGraphile planned now fails
    // with a message naming the table and column.
    const admin = new pg.Client({ connectionString: running.db.url });
    await admin.connect();
    await admin.query("alter table settle.buyers rename column email to email_address");
    await admin.query("insert into settle.buyers (email_address) values ('x@example.com')");
    await admin.end();
    const response = await graphql(running.url, "{ allBuyers { nodes { id email } } }", {
      token: await signJwt({ role: "settle_platform" }),
    });
    t.is(errorCode(response), "INTERNAL");
    const error = response.body.errors?.[0];
    t.notRegex(
      JSON.stringify([error?.message, error?.extensions]),
      /email|buyer|column|select|settle/i,
    );
    const errorId = error?.extensions?.errorId;
    t.truthy(errorId);
    const logged = lines.find((line) => line.errorId === errorId);
    t.truthy(logged, "the log has the details under the same id");
    t.regex(logged?.err?.message ?? "", /email/);
  } finally {
    await running.stop();
  }
});
