/**
 * The list endpoints, in the fake and through the client: GET /payments/list
 * (query, newest first, inclusive `created.gte` and `ending_before`, no offset,
 * `{size, data}`) and POST /refunds/list (JSON body, offset paging over the last
 * update, `{count, total_count, data}`), with the router's limits and `api-key`
 * checks; and the walks that turn pages into whole lists, over more than a page.
 */
import test from "ava";
import type { FakeHyperswitch } from "../../../src/psp/hyperswitch/fake/index.ts";
import { paymentsSince, refundsSince } from "../../../src/psp/hyperswitch/lists.ts";
import { clientFor, raw, startFake, wireCard } from "./helpers.ts";

/** `n` payments, the first `paid` of them succeeded (refundable), returned oldest first. */
async function payments(fake: FakeHyperswitch, n: number, paid = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `pay_list_${String(i).padStart(3, "0")}`;
    const body: Record<string, unknown> = { payment_id: id, amount: 100 + i, currency: "EUR" };
    if (i < paid)
      Object.assign(body, { confirm: true, payment_method_data: wireCard("4242424242424242") });
    const created = await raw(fake, "POST", "/payments", body);
    if (created.status !== 200) throw new Error(created.text);
    ids.push(id);
  }
  return ids;
}

async function refunds(fake: FakeHyperswitch, paymentIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, paymentId] of paymentIds.entries()) {
    const id = `ref_list_${String(i).padStart(3, "0")}`;
    const created = await raw(fake, "POST", "/refunds", {
      payment_id: paymentId,
      refund_id: id,
      amount: 10,
    });
    if (created.status !== 200) throw new Error(created.text);
    ids.push(id);
  }
  return ids;
}

const ids = (json: Record<string, unknown>, key: string) =>
  (json.data as Record<string, string>[]).map((o) => o[key]);

test("GET /payments/list: newest first, {size, data}, default limit 10, created.gte and ending_before inclusive", async (t) => {
  const fake = await startFake(t);
  const made = await payments(fake, 12);
  const newestFirst = [...made].reverse();

  const first = await raw(fake, "GET", "/payments/list");
  t.is(first.status, 200, first.text);
  t.is(first.json.size, 10);
  t.deepEqual(ids(first.json, "payment_id"), newestFirst.slice(0, 10));

  const since = fake.payment(made[5] as string)?.created as string;
  const window = await raw(fake, "GET", `/payments/list?limit=100&created.gte=${since}`);
  t.deepEqual(
    ids(window.json, "payment_id"),
    newestFirst.slice(0, 7),
    "created.gte keeps the 6th on",
  );

  // starting_after is ignored once created.gte is given (the router's mapping).
  const ignored = await raw(
    fake,
    "GET",
    `/payments/list?limit=100&created.gte=${since}&starting_after=${made[9]}`,
  );
  t.deepEqual(ids(ignored.json, "payment_id"), newestFirst.slice(0, 7));

  // ending_before includes the cursor itself: the next page repeats it.
  const down = await raw(fake, "GET", `/payments/list?limit=3&ending_before=${made[8]}`);
  t.deepEqual(ids(down.json, "payment_id"), [made[8], made[7], made[6]]);
});

test("GET /payments/list: limit outside 1-100 is 422 IR_06, an unknown parameter 400 IR_06, a bad key 401, POST 405", async (t) => {
  const fake = await startFake(t);
  for (const limit of ["0", "101"]) {
    const bad = await raw(fake, "GET", `/payments/list?limit=${limit}`);
    t.is(bad.status, 422);
    t.like(bad.json.error, { code: "IR_06", message: "limit should be in between 1 and 100" });
  }
  const unknown = await raw(fake, "GET", "/payments/list?offset=10");
  t.is(unknown.status, 400);
  t.like(unknown.json.error, { error_type: "invalid_request", code: "IR_06" });
  const noKey = await raw(fake, "GET", "/payments/list", undefined, { "api-key": undefined });
  t.is(noKey.status, 401);
  t.like(noKey.json.error, { code: "IR_01" });
  const post = await raw(fake, "POST", "/payments/list", {});
  t.is(post.status, 405);
  const unknownCursor = await raw(fake, "GET", "/payments/list?ending_before=pay_nope");
  t.is(unknownCursor.status, 404);
  t.like(unknownCursor.json.error, { code: "HE_02" });
});

test("POST /refunds/list: offset paging by last update, {count, total_count, data}, start_time, limits and key", async (t) => {
  const fake = await startFake(t);
  const paid = await payments(fake, 5, 5);
  const made = await refunds(fake, paid);
  const newestFirst = [...made].reverse();

  const page = await raw(fake, "POST", "/refunds/list", { limit: 2, offset: 1 });
  t.is(page.status, 200, page.text);
  t.like(page.json, { count: 2, total_count: 5 });
  t.deepEqual(ids(page.json, "refund_id"), newestFirst.slice(1, 3));

  const since = fake.refund(made[3] as string)?.created_at as string;
  const window = await raw(fake, "POST", "/refunds/list", { start_time: since, limit: 100 });
  t.like(window.json, { count: 2, total_count: 2 });

  // A settled refund moves to the front: the order is by update, not creation.
  fake.settleRefund(made[0] as string, { status: "succeeded" });
  const moved = await raw(fake, "POST", "/refunds/list", { limit: 1 });
  t.deepEqual(ids(moved.json, "refund_id"), [made[0]]);

  const tooMany = await raw(fake, "POST", "/refunds/list", { limit: 101 });
  t.is(tooMany.status, 422);
  t.like(tooMany.json.error, { code: "IR_06" });
  const noKey = await raw(fake, "POST", "/refunds/list", {}, { "api-key": "snd_wrong" });
  t.is(noKey.status, 401);
  const notJson = await raw(fake, "POST", "/refunds/list", "{");
  t.is(notJson.status, 400);
  t.like(notJson.json.error, { code: "IR_06" });
});

test("the client's walks return whole lists over more than one page, each request a page", async (t) => {
  const fake = await startFake(t);
  const before = new Date(Date.now() - 1_000);
  const made = await payments(fake, 105, 23);
  const refunded = await refunds(fake, made.slice(0, 23));
  const client = clientFor(fake);

  const all = await paymentsSince(client, before);
  t.deepEqual(all.map((p) => p.payment_id).sort(), [...made].sort());
  // 100, then 6 (the cursor repeated and the 5 older): two requests.
  t.is(fake.requests({ method: "GET", path: "/payments/list" }).length, 2);

  const small = await paymentsSince(client, before, { pageSize: 7 });
  t.is(new Set(small.map((p) => p.payment_id)).size, 105);
  t.is(small.length, 105, "the repeated cursors are dropped");

  const since = new Date(fake.payment(made[100] as string)?.created as string);
  const recent = await paymentsSince(client, since, { pageSize: 2 });
  t.deepEqual(
    recent.map((p) => p.payment_id),
    made.slice(100).reverse(),
  );

  let requests = 0;
  const allRefunds = await refundsSince(client, before, {
    pageSize: 5,
    beforeRequest: async () => {
      requests++;
    },
  });
  t.deepEqual(allRefunds.map((r) => r.refund_id).sort(), [...refunded].sort());
  t.is(requests, 5, "pages of 5, 5, 5, 5 and 3");
});

test("the refund walk walks again when a refund settled mid-walk shifted the offsets", async (t) => {
  const fake = await startFake(t);
  const before = new Date(Date.now() - 1_000);
  const made = await refunds(fake, await payments(fake, 6, 6));
  const client = clientFor(fake);
  let requests = 0;
  const all = await refundsSince(client, before, {
    pageSize: 2,
    beforeRequest: async () => {
      requests++;
      // After the first page (the 2 newest), the oldest refund settles and jumps to
      // the front: offset 2 then starts at what was the 2nd, and made[0] is skipped.
      if (requests === 2) fake.settleRefund(made[0] as string, { status: "succeeded" });
    },
  });
  t.deepEqual(all.map((r) => r.refund_id).sort(), [...made].sort());
  t.like(
    all.find((r) => r.refund_id === made[0]),
    { status: "succeeded" },
  );
  t.true(requests > 4, `a second walk was made (${requests} requests)`);
});

test("the client refuses a page outside 1-100, a negative offset or an empty cursor before any request", async (t) => {
  const fake = await startFake(t);
  const client = clientFor(fake);
  for (const limit of [0, 101, 2.5]) {
    await t.throwsAsync(client.listPayments({ limit }), { instanceOf: RangeError });
    await t.throwsAsync(client.listRefunds({ limit, offset: 0 }), { instanceOf: RangeError });
  }
  await t.throwsAsync(client.listRefunds({ limit: 10, offset: -1 }), { instanceOf: RangeError });
  await t.throwsAsync(client.listPayments({ limit: 10, endingBefore: " " }), {
    instanceOf: TypeError,
  });
  t.is(fake.requests().length, 0);
});
