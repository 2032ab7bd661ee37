/**
 * The shell shared by the fake PSPs: requests are recorded, faults fire as
 * described (before or after the request takes effect), control calls work.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import test from "ava";
import { type FakeServer, startFakeServer } from "../../src/psp/fake/server.ts";
import { createWebhookSender } from "../../src/psp/fake/webhooks.ts";

/** A fake whose only state is a counter that POST /count increments. */
async function counterFake(): Promise<{ fake: FakeServer; count: () => number }> {
  let count = 0;
  const fake = await startFakeServer({
    name: "counter",
    handler: async (req) => {
      if (req.method === "POST" && req.path === "/count") count++;
      return { status: 200, headers: { "x-request-id": "req_1" }, body: { count } };
    },
    onReset: () => {
      count = 0;
    },
    defaultErrorBody: (status) => ({ error: { code: `E${status}` } }),
  });
  return { fake, count: () => count };
}

const post = (fake: FakeServer, path: string, body = "{}", signal?: AbortSignal) =>
  fetch(`${fake.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    signal,
  });

test("records method, path, query, headers and raw body of every request", async (t) => {
  const { fake } = await counterFake();
  t.teardown(() => fake.close());
  await fetch(`${fake.url}/count?x=1`, {
    method: "POST",
    body: "a=b",
    headers: { "idempotency-key": "k1" },
  });
  const [recorded] = fake.requests();
  t.like(recorded, { method: "POST", path: "/count", query: "x=1", body: "a=b", outcome: 200 });
  t.is(recorded?.headers["idempotency-key"], "k1");
  const viaHttp = (await (await fetch(`${fake.url}/__fake/requests?path=/count`)).json()) as {
    requests: unknown[];
  };
  t.is(viaHttp.requests.length, 1);
});

test("a status fault before the request answers instead of it: nothing was done", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  fake.inject({ method: "POST", path: "/count", fault: { kind: "status", status: 503 } });
  const first = await post(fake, "/count");
  t.is(first.status, 503);
  t.deepEqual(await first.json(), { error: { code: "E503" } });
  t.is(count(), 0);
  const second = await post(fake, "/count");
  t.is(second.status, 200, "a rule fires `times` times (default once)");
  t.is(count(), 1);
});

test("an afterCommit status fault lets the request take effect and loses the answer", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  fake.inject({
    path: "/count",
    times: 2,
    fault: { kind: "status", status: 500, afterCommit: true, body: "boom" },
  });
  t.is((await post(fake, "/count")).status, 500);
  t.is((await post(fake, "/count")).status, 500);
  t.is(count(), 2);
  t.is((await post(fake, "/count")).status, 200);
});

test("drop destroys the connection; afterCommit drop after the state changed", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  fake.inject({ path: "/count", fault: { kind: "drop" } });
  await t.throwsAsync(post(fake, "/count"));
  t.is(count(), 0);
  fake.inject({ path: "/count", fault: { kind: "drop", afterCommit: true } });
  await t.throwsAsync(post(fake, "/count"));
  t.is(count(), 1);
  t.deepEqual(
    fake.requests().map((r) => r.outcome),
    ["dropped", "dropped"],
  );
});

test("timeout never answers: the client's own timeout ends the call", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  fake.inject({ path: "/count", fault: { kind: "timeout", afterCommit: true } });
  const error = await t.throwsAsync(post(fake, "/count", "{}", AbortSignal.timeout(200)));
  t.is(error?.name, "TimeoutError");
  t.is(count(), 1);
});

test("latency delays the answer; method and path must match; unlimited rules keep firing", async (t) => {
  const { fake } = await counterFake();
  t.teardown(() => fake.close());
  fake.inject({
    method: "GET",
    path: "/slow/.*",
    times: null,
    fault: { kind: "latency", ms: 150 },
  });
  const started = Date.now();
  t.is((await fetch(`${fake.url}/slow/1`)).status, 200);
  t.is((await fetch(`${fake.url}/slow/2`)).status, 200);
  t.true(Date.now() - started >= 300);
  const quick = Date.now();
  await post(fake, "/slow/3");
  t.true(Date.now() - quick < 150, "POST does not match a GET rule");
  t.is(fake.faults.pending().length, 1);
});

test("probability draws from the injected random source", async (t) => {
  const draws = [0.9, 0.1];
  const fake = await startFakeServer({
    name: "p",
    handler: async () => ({ status: 200 }),
    random: () => draws.shift() ?? 1,
  });
  t.teardown(() => fake.close());
  fake.inject({ times: null, probability: 0.5, fault: { kind: "status", status: 429 } });
  t.is((await fetch(fake.url)).status, 200);
  t.is((await fetch(fake.url)).status, 429);
});

test("control calls: add and clear faults over HTTP, reset state, unknown calls are 404, bad rules 400", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  const added = await post(
    fake,
    "/__fake/faults",
    JSON.stringify({ path: "/count", fault: { kind: "status", status: 502 } }),
  );
  t.is(added.status, 200);
  t.is((await post(fake, "/count")).status, 502);
  await post(fake, "/count");
  t.is(count(), 1);
  await post(fake, "/__fake/reset");
  t.is(count(), 0);
  t.deepEqual(fake.requests(), []);
  t.is((await post(fake, "/__fake/nope")).status, 404);
  const bad = await post(
    fake,
    "/__fake/faults",
    JSON.stringify({ fault: { kind: "status", status: 99 } }),
  );
  t.is(bad.status, 400);
});

test("webhooks: retried until a 2xx, duplicated, delayed and reordered on demand", async (t) => {
  const received: Array<{ body: string; signature: string | undefined }> = [];
  let failFirst = 1;
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (failFirst-- > 0) {
        res.writeHead(500).end();
        return;
      }
      received.push({ body, signature: req.headers["x-sig"] as string | undefined });
      res.writeHead(200).end();
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  t.teardown(() => receiver.close());
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const sender = createWebhookSender({
    name: "t",
    sign: (body) => ({ "x-sig": `sig:${body.length}` }),
  });
  sender.configure({ url, retryDelayMs: 10 });

  sender.emit({ eventId: "e1", type: "a", body: '{"n":1}' });
  await sender.drain();
  t.deepEqual(received, [{ body: '{"n":1}', signature: "sig:7" }]);
  t.like(sender.deliveries()[0], { attempts: 2, delivered: true, lastStatus: 200 });

  sender.configure({ duplicates: 1 });
  sender.emit({ eventId: "e2", type: "a", body: '{"n":2}' });
  await sender.drain();
  t.deepEqual(
    received.slice(1).map((r) => r.body),
    ['{"n":2}', '{"n":2}'],
  );

  sender.configure({ duplicates: 0, reorder: true });
  sender.emit({ eventId: "e3", type: "a", body: '{"n":3}' });
  sender.emit({ eventId: "e4", type: "a", body: '{"n":4}' });
  await sender.drain();
  t.is(received.length, 3, "held until flush");
  sender.flush();
  await sender.drain();
  t.deepEqual(
    received.slice(3).map((r) => r.body),
    ['{"n":4}', '{"n":3}'],
  );
});

test("a standing rate limit refuses what exceeds the bucket with 429, untouched, and counts it", async (t) => {
  const { fake, count } = await counterFake();
  t.teardown(() => fake.close());
  // 1 token a minute: after the two banked tokens nothing refills during the test.
  const set = await fetch(`${fake.url}/__fake/conditions`, {
    method: "POST",
    body: JSON.stringify({ rateLimitPerSecond: 1 / 60, rateLimitBurst: 2 }),
  });
  t.like(await set.json(), { conditions: { rateLimitBurst: 2, rateLimited: 0 } });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await post(fake, "/count")).status);
  t.deepEqual(statuses, [200, 200, 429, 429]);
  t.is(count(), 2, "a refused request changes nothing");
  t.deepEqual(
    fake.requests().map((r) => r.outcome),
    [200, 200, 429, 429],
  );
  const refused = await post(fake, "/count");
  t.deepEqual(await refused.json(), { error: { code: "E429" } });
  t.is(fake.conditions().rateLimited, 3);
  await fetch(`${fake.url}/__fake/reset`, { method: "POST" });
  t.like(fake.conditions(), { rateLimitPerSecond: null, latencyMs: 0 });
  t.is((await post(fake, "/count")).status, 200);
});

test("conditions are validated: a bad value is refused and changes nothing", async (t) => {
  const { fake } = await counterFake();
  t.teardown(() => fake.close());
  const bad = await fetch(`${fake.url}/__fake/conditions`, {
    method: "POST",
    body: JSON.stringify({ latencyMs: -1 }),
  });
  t.is(bad.status, 400);
  t.like(fake.conditions(), { latencyMs: 0, rateLimitPerSecond: null });
});
