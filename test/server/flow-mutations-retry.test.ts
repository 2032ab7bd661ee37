/**
 * SPEC §5 Admin retry through retryTransfer / retryReversal: an admin sends a row
 * that gave up back to pending (same id, so the same idempotency key), with its job
 * and the reason in the audit trail. Anyone else, a blank reason, or a row that
 * did not give up: refused, and nothing is written.
 */
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { asCaller, insertBuyer, insertOrder, insertSeller, moveOrder } from "../support/sql.ts";
import {
  dataOf,
  errorCode,
  type FlowsApp,
  type GraphQLResponse,
  graphql,
  signJwt,
  useFlowsApp,
} from "./helpers.ts";

const test = anyTest as TestFn<{ app: FlowsApp }>;

useFlowsApp(test);

const ADMIN_SUB = "5b0e4a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const admin = () => signJwt({ role: "settle_admin", sub: ADMIN_SUB });
const platform = () => signJwt({ role: "settle_platform" });

/** The two retryable kinds of row, as the mutations and the database name them. */
const KINDS = {
  transfer: {
    mutation: "retryTransfer",
    idField: "transferId",
    table: "seller_transfers",
    jobKey: (id: string) => `seller_transfers:${id}`,
  },
  reversal: {
    mutation: "retryReversal",
    idField: "reversalId",
    table: "transfer_reversals",
    jobKey: (id: string) => `transfer_reversals:${id}`,
  },
} as const;
type Kind = keyof typeof KINDS;

/** A paid order of one item (1000, fee 100): its one seller transfer, pending. */
async function pendingTransfer(app: FlowsApp): Promise<string> {
  const { orderId } = await insertOrder(app.owner, await insertBuyer(app.owner), [
    { sellerId: await insertSeller(app.owner), amount: 1000, platformFee: 100 },
  ]);
  await moveOrder(app.owner, orderId, "payment_pending");
  await app.owner.query("select settle_private.apply_payment_succeeded($1, $2, now())", [
    orderId,
    `pay_${orderId}`,
  ]);
  const { rows } = await app.owner.query<{ id: string }>(
    "select id from settle.seller_transfers where order_id = $1",
    [orderId],
  );
  return rows[0]!.id;
}

/** A reversal (pending) of part of a completed transfer, after a succeeded refund of 300. */
async function pendingReversal(app: FlowsApp): Promise<string> {
  const transferId = await pendingTransfer(app);
  const { rows: transfer } = await app.owner.query<{ order_id: string }>(
    `update settle.seller_transfers set status = 'completed', stripe_transfer_id = 'tr_' || md5(id::text)
     where id = $1 returning order_id`,
    [transferId],
  );
  const refundId = await asCaller(app.owner, { role: "settle_platform" }, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "select id from settle_api.refund_order_begin($1, 300, 'test', null)",
      [transfer[0]!.order_id],
    );
    return rows[0]!.id;
  });
  await app.owner.query("select settle_private.apply_refund_succeeded($1, $2, now())", [
    refundId,
    `ref_${refundId}`,
  ]);
  const { rows } = await app.owner.query<{ id: string }>(
    "select id from settle.transfer_reversals where seller_transfer_id = $1",
    [transferId],
  );
  return rows[0]!.id;
}

/**
 * A row of `kind` in `status`; a permanently_failed one has lost its job, as after
 * the worker gave up, so a job afterwards is the retry's doing.
 */
async function row(app: FlowsApp, kind: Kind, status: "pending" | "permanently_failed") {
  const id = kind === "transfer" ? await pendingTransfer(app) : await pendingReversal(app);
  if (status === "permanently_failed") {
    await app.owner.query(
      `update settle.${KINDS[kind].table} set status = 'permanently_failed', last_error = 'gave up' where id = $1`,
      [id],
    );
    await app.owner.query("select graphile_worker.remove_job($1)", [KINDS[kind].jobKey(id)]);
  }
  return id;
}

async function retry(app: FlowsApp, kind: Kind, id: string, reason: string, token: string) {
  const { mutation, idField } = KINDS[kind];
  const field = kind === "transfer" ? "transfer" : "reversal";
  return graphql(
    app.running.url,
    `mutation ($id: UUID!, $reason: String!) {
       ${mutation}(input: { ${idField}: $id, reason: $reason, clientMutationId: "c-1" }) {
         clientMutationId ${field} { id status lastError }
       }
     }`,
    { token, variables: { id, reason } },
  );
}

/** What a retry writes: the row's status, its audit trail, its jobs. */
async function state(app: FlowsApp, kind: Kind, id: string) {
  const { rows } = await app.owner.query<{ status: string; transitions: string; jobs: string }>(
    `select (select status from settle.${KINDS[kind].table} where id = $1) as status,
            (select count(*) from settle.state_transitions where entity_id = $1) as transitions,
            (select count(*) from graphile_worker.jobs where key = $2) as jobs`,
    [id, KINDS[kind].jobKey(id)],
  );
  const r = rows[0]!;
  return { status: r.status, transitions: Number(r.transitions), jobs: Number(r.jobs) };
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

for (const kind of ["transfer", "reversal"] as const) {
  const { mutation, table } = KINDS[kind];

  test(`${mutation} by an admin: permanently_failed → pending, same row, a job, the reason audited`, async (t) => {
    const { app } = t.context;
    const id = await row(app, kind, "permanently_failed");
    t.is((await state(app, kind, id)).jobs, 0, "no job before the retry");
    const response = await retry(app, kind, id, "  seller fixed their account  ", await admin());
    t.deepEqual(response.body.errors, undefined);
    const payload = dataOf<Record<string, unknown>>(response, mutation);
    t.is(payload.clientMutationId, "c-1");
    t.deepEqual(payload[kind], { id, status: "pending", lastError: null });
    t.like(await state(app, kind, id), { status: "pending", jobs: 1 });
    const { rows } = await app.owner.query(
      `select from_status, to_status, actor, reason from settle.state_transitions
       where entity = $1 and entity_id = $2 order by id desc limit 1`,
      [table, id],
    );
    t.deepEqual(rows[0], {
      from_status: "permanently_failed",
      to_status: "pending",
      actor: `settle_admin:${ADMIN_SUB}`,
      reason: "seller fixed their account",
    });
  });

  test(`${mutation} by the platform is FORBIDDEN and writes nothing`, async (t) => {
    const { app } = t.context;
    const id = await row(app, kind, "permanently_failed");
    const before = await state(app, kind, id);
    const response = await retry(app, kind, id, "please", await platform());
    t.is(errorCode(response), "FORBIDDEN");
    t.is(response.body.data?.[mutation], null);
    assertClean(t, response);
    t.deepEqual(await state(app, kind, id), before);
    t.is(before.status, "permanently_failed");
  });

  test(`${mutation} with a blank reason is VALIDATION and writes nothing`, async (t) => {
    const { app } = t.context;
    const id = await row(app, kind, "permanently_failed");
    const before = await state(app, kind, id);
    const response = await retry(app, kind, id, "   ", await admin());
    t.is(errorCode(response), "VALIDATION");
    t.regex(response.body.errors![0]!.message, /^reason: say why/);
    assertClean(t, response);
    t.deepEqual(await state(app, kind, id), before);
  });

  test(`${mutation} of a pending row is an ILLEGAL_TRANSITION and writes nothing`, async (t) => {
    const { app } = t.context;
    const id = await row(app, kind, "pending");
    const before = await state(app, kind, id);
    const response = await retry(app, kind, id, "just in case", await admin());
    t.is(errorCode(response), "ILLEGAL_TRANSITION");
    t.regex(response.body.errors![0]!.message, /is pending: only a permanently_failed/);
    assertClean(t, response);
    t.deepEqual(await state(app, kind, id), before);
    t.is(before.status, "pending");
  });
}

test("a retry of a row that does not exist is VALIDATION", async (t) => {
  const { app } = t.context;
  const missing = "00000000-0000-4000-8000-000000000000";
  for (const kind of ["transfer", "reversal"] as const) {
    const response = await retry(app, kind, missing, "why not", await admin());
    t.is(errorCode(response), "VALIDATION", kind);
    t.regex(response.body.errors![0]!.message, new RegExp(`no ${kind} ${missing}`), kind);
  }
});
