/**
 * StripeService when things go wrong, each failure injected into the real HTTP
 * fake: the kind of SPEC §1.2 (retryable / unknown / permanent), the typed
 * outcomes the jobs branch on, and the look-up that resolves an unknown outcome.
 */
import test, { type ExecutionContext } from "ava";
import type Stripe from "stripe";
import { PspError } from "../../../src/psp/errors.ts";
import {
  AlreadyReversed,
  IdempotencyMismatch,
  InsufficientBalance,
  RateLimited,
  TransferNotFound,
} from "../../../src/psp/stripe/errors.ts";
import { StripeService } from "../../../src/psp/stripe/service.ts";
import { closedPort, fakeFor, serviceFor, silent, transferRequest } from "./support.ts";

async function failure<T extends PspError = PspError>(
  t: ExecutionContext,
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T = PspError as never,
): Promise<T> {
  const error = await t.throwsAsync(promise);
  t.true(error instanceof type, `expected ${type.name}, got ${error?.name}: ${error?.message}`);
  t.is((error as PspError).provider, "stripe");
  return error as T;
}

const TRANSFERS = "/v1/transfers";

test("500 before Stripe acts: unknown, and nothing was made", async (t) => {
  const fake = await fakeFor(t);
  fake.inject({ path: TRANSFERS, fault: { kind: "status", status: 500 } });
  const { key, request } = transferRequest();
  const error = await failure(t, serviceFor(fake.url).createTransfer(key, request));
  t.is(error.kind, "unknown");
  t.is(error.httpStatus, 500);
  t.is(fake.transfers().length, 0);
});

test("500 after Stripe acted: unknown; the same key replays the saved 500; findTransfer adopts the transfer", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  fake.inject({ path: TRANSFERS, fault: { kind: "status", status: 500, afterCommit: true } });
  const { key, request, orderId, sellerTransferId } = transferRequest();

  const first = await failure(t, service.createTransfer(key, request));
  t.is(first.kind, "unknown");
  const replay = await failure(t, service.createTransfer(key, request));
  t.is(replay.kind, "unknown");
  t.is(replay.httpStatus, 500);
  const headers = (replay.cause as Stripe.errors.StripeError).headers ?? {};
  t.is(headers["idempotent-replayed"], "true", "Stripe's saved 5xx, not a new attempt");

  const found = await service.findTransfer(orderId, { seller_transfer_id: sellerTransferId });
  t.is(fake.transfers().length, 1);
  t.is(found?.id, fake.transfers()[0]?.id);
});

test("timeout after Stripe acted: unknown with no status; findTransfer adopts it", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url, { timeoutMs: 300 });
  fake.inject({ path: TRANSFERS, fault: { kind: "timeout", afterCommit: true } });
  const { key, request, orderId, sellerTransferId } = transferRequest();
  const error = await failure(t, service.createTransfer(key, request));
  t.is(error.kind, "unknown");
  t.is(error.httpStatus, null);
  t.is(fake.requests({ path: TRANSFERS }).length, 1, "no SDK retry after a timeout");
  const found = await service.findTransfer(orderId, { seller_transfer_id: sellerTransferId });
  t.truthy(found);
  // And the key now replays the success the client never saw.
  t.is<string | undefined, string | undefined>(
    await service.createTransfer(key, request),
    found?.id,
  );
});

test("connection dropped: unknown; stripe-node's single closed-connection retry reuses our key", async (t) => {
  const fake = await fakeFor(t);
  fake.inject({ path: TRANSFERS, times: 2, fault: { kind: "drop" } });
  const { key, request } = transferRequest();
  const error = await failure(t, serviceFor(fake.url).createTransfer(key, request));
  t.is(error.kind, "unknown");
  t.is(error.httpStatus, null);
  const sent = fake.requests({ path: TRANSFERS });
  t.deepEqual(
    sent.map((r) => [r.headers["idempotency-key"], r.outcome]),
    [
      [key, "dropped"],
      [key, "dropped"],
    ],
  );
});

test("connection dropped after Stripe acted: the SDK's retry with our key replays the transfer", async (t) => {
  const fake = await fakeFor(t);
  fake.inject({ path: TRANSFERS, fault: { kind: "drop", afterCommit: true } });
  const { key, request } = transferRequest();
  const id = await serviceFor(fake.url).createTransfer(key, request);
  t.is(fake.transfers().length, 1);
  t.is(fake.transfers()[0]?.id, id);
});

test("connection refused: retryable, nothing sent", async (t) => {
  const port = await closedPort();
  const { key, request } = transferRequest();
  const error = await failure(
    t,
    serviceFor(`http://127.0.0.1:${port}`).createTransfer(key, request),
  );
  t.is(error.kind, "retryable");
  t.is(error.httpStatus, null);
  t.regex(error.message, /ECONNREFUSED/);
});

test("429 rate_limit and 429 lock_timeout: RateLimited, retryable", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  fake.inject({ path: TRANSFERS, fault: { kind: "status", status: 429 } });
  const { key, request } = transferRequest();
  const limited = await failure(t, service.createTransfer(key, request), RateLimited);
  t.is(limited.kind, "retryable");
  t.is(limited.code, "rate_limit");

  fake.inject({
    path: TRANSFERS,
    fault: {
      kind: "status",
      status: 429,
      headers: { "Stripe-Should-Retry": "true" },
      body: {
        error: {
          type: "invalid_request_error",
          code: "lock_timeout",
          message:
            "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
        },
      },
    },
  });
  const locked = await failure(t, service.createTransfer(key, request), RateLimited);
  t.is(locked.kind, "retryable");
  t.is(locked.code, "lock_timeout");
  t.is(locked.httpStatus, 429);
  t.is(fake.transfers().length, 0);
  // Nothing was saved under the key: the retry with it goes through.
  t.regex(await service.createTransfer(key, request), /^tr_/);
});

test("409 idempotency_key_in_use: retryable (injected, and from two real concurrent calls)", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  fake.inject({ path: TRANSFERS, fault: { kind: "status", status: 409 } });
  const { key, request } = transferRequest();
  const injected = await failure(t, service.createTransfer(key, request));
  t.is(injected.kind, "retryable");
  t.is(injected.code, "idempotency_key_in_use");

  fake.setProcessingDelay(400);
  const [a, b] = await Promise.allSettled([
    service.createTransfer(key, request),
    new Promise((r) => setTimeout(r, 100)).then(() => service.createTransfer(key, request)),
  ]);
  t.is(a.status, "fulfilled");
  t.is(b.status, "rejected");
  const concurrent = (b as PromiseRejectedResult).reason as PspError;
  t.is(concurrent.kind, "retryable");
  t.is(concurrent.httpStatus, 409);
  t.is(concurrent.code, "idempotency_key_in_use");
  t.is(fake.transfers().length, 1);
});

test("503 and 502: unknown", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  for (const status of [502, 503]) {
    fake.inject({ path: TRANSFERS, fault: { kind: "status", status } });
    const { key, request } = transferRequest();
    const error = await failure(t, service.createTransfer(key, request));
    t.is(error.kind, "unknown");
    t.is(error.httpStatus, status);
  }
});

test("401, 402 and 403: permanent", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  for (const status of [401, 402, 403]) {
    fake.inject({ path: TRANSFERS, fault: { kind: "status", status } });
    const { key, request } = transferRequest();
    const error = await failure(t, service.createTransfer(key, request));
    t.is(error.kind, "permanent", `HTTP ${status}`);
    t.is(error.httpStatus, status);
  }
  // A real 401 from the fake: a publishable key where a secret key belongs.
  const { key, request } = transferRequest();
  const unauthorised = await failure(
    t,
    new StripeService(
      { secretKey: "pk_test_public", apiBase: fake.url, timeoutMs: 5_000, logger: silent },
      Date.now,
    ).createTransfer(key, request),
  );
  t.is(unauthorised.kind, "permanent");
  t.is(unauthorised.httpStatus, 401);
  t.regex(unauthorised.requestId ?? "", /^req_/);
});

test("an invalid request is permanent, with Stripe's code, status and request id", async (t) => {
  const fake = await fakeFor(t);
  const { key, request } = transferRequest({ destination: "not-an-account" });
  const error = await failure(t, serviceFor(fake.url).createTransfer(key, request));
  t.is(error.kind, "permanent");
  t.is(error.code, "resource_missing");
  t.is(error.httpStatus, 404);
  t.regex(error.requestId ?? "", /^req_/);
  t.regex(error.summary(), /^stripe permanent resource_missing HTTP 404: .+ \(request req_/);
  t.false(error instanceof TransferNotFound, "a missing destination is not a missing transfer");
});

test("a 4xx that Stripe marks Stripe-Should-Retry: true is retryable", async (t) => {
  const fake = await fakeFor(t);
  fake.inject({
    path: TRANSFERS,
    fault: { kind: "status", status: 400, headers: { "Stripe-Should-Retry": "true" } },
  });
  const { key, request } = transferRequest();
  const error = await failure(t, serviceFor(fake.url).createTransfer(key, request));
  t.is(error.kind, "retryable");
  t.is(error.httpStatus, 400);
});

test("the same key with other params: IdempotencyMismatch, permanent", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  await service.createTransfer(key, request);
  const error = await failure(
    t,
    service.createTransfer(key, { ...request, amount: request.amount - 1 }),
    IdempotencyMismatch,
  );
  t.is(error.kind, "permanent");
  t.is(error.httpStatus, 400);
});

test("reversing an unknown transfer: TransferNotFound; so is retrieving it", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const reversal = await failure(
    t,
    service.reverseTransfer("rev-1", "tr_1Missing", 100, { transfer_reversal_id: "rev-1" }),
    TransferNotFound,
  );
  t.is(reversal.transferId, "tr_1Missing");
  t.is(reversal.kind, "permanent");
  t.is(reversal.code, "resource_missing");
  await failure(t, service.retrieveTransfer("tr_1Missing"), TransferNotFound);
});

test("a seller balance too low for the reversal: InsufficientBalance", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  fake.setBalance("acct_1Seller", "usd", 100); // the seller was paid out meanwhile
  const error = await failure(
    t,
    service.reverseTransfer("rev-1", transferId, 500, { transfer_reversal_id: "rev-1" }),
    InsufficientBalance,
  );
  t.is(error.kind, "permanent");
  t.is(error.code, "balance_insufficient");
  t.is((await service.retrieveTransfer(transferId)).amount_reversed, 0);
});

test("reversing a fully reversed transfer: AlreadyReversed with the transfer and our reversal", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  const ours = await service.reverseTransfer("rev-1", transferId, null, {
    transfer_reversal_id: "rev-1",
  });
  fake.clock.advance(25 * 60 * 60 * 1000); // the key has expired: Stripe runs it anew and refuses

  const error = await failure(
    t,
    service.reverseTransfer("rev-1", transferId, null, { transfer_reversal_id: "rev-1" }),
    AlreadyReversed,
  );
  t.is(error.kind, "permanent");
  t.is(error.httpStatus, 400);
  t.true(error.transfer.reversed);
  t.is(error.transfer.id, transferId);
  t.is(error.matchingReversal({ transfer_reversal_id: "rev-1" })?.id, ours);
  t.is(error.matchingReversal({ transfer_reversal_id: "rev-9" }), null);
});

test("asking more than is left: AlreadyReversed when an earlier reversal took the room", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  const ours = await service.reverseTransfer("rev-1", transferId, 700, {
    transfer_reversal_id: "rev-1",
  });
  // The same reversal under a retry key (`<row id>:<attempt>`): only 300 left.
  const error = await failure(
    t,
    service.reverseTransfer("rev-1:2", transferId, 700, { transfer_reversal_id: "rev-1" }),
    AlreadyReversed,
  );
  t.false(error.transfer.reversed);
  t.is(error.transfer.amount_reversed, 700);
  t.is(error.matchingReversal({ transfer_reversal_id: "rev-1" })?.id, ours);
});

test("AlreadyReversed carries every reversal, not only the 10 the transfer embeds", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest({ amount: 12 });
  const transferId = await service.createTransfer(key, request);
  const first = await service.reverseTransfer("rev-0", transferId, 1, {
    transfer_reversal_id: "rev-0",
  });
  for (let i = 1; i < 12; i++) {
    await service.reverseTransfer(`rev-${i}`, transferId, 1, { transfer_reversal_id: `rev-${i}` });
  }
  const error = await failure(
    t,
    service.reverseTransfer("rev-0:2", transferId, 1, { transfer_reversal_id: "rev-0" }),
    AlreadyReversed,
  );
  t.is(error.transfer.reversals.data.length, 10);
  t.is(error.reversals.length, 12);
  t.is(error.matchingReversal({ transfer_reversal_id: "rev-0" })?.id, first);
});

test("an invalid reversal that is not about room left stays a plain permanent error", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  // Metadata values are limited to 500 characters: a 400 about the request itself.
  const error = await failure(
    t,
    service.reverseTransfer("rev-1", transferId, 100, { note: "x".repeat(501) }),
  );
  t.false(error instanceof AlreadyReversed);
  t.is(error.kind, "permanent");
  t.is(error.httpStatus, 400);
  t.is(
    fake.requests({ method: "GET", path: `/v1/transfers/${transferId}` }).length,
    1,
    "decided by retrieving",
  );
});

test("a refusal the look-up cannot decide: retryable, since neither call changed anything", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  const { key, request } = transferRequest();
  const transferId = await service.createTransfer(key, request);
  await service.reverseTransfer("rev-1", transferId, null, { transfer_reversal_id: "rev-1" });
  fake.inject({
    method: "GET",
    path: `/v1/transfers/${transferId}`,
    fault: { kind: "status", status: 503 },
  });
  const error = await failure(
    t,
    service.reverseTransfer("rev-2", transferId, 100, { transfer_reversal_id: "rev-2" }),
  );
  t.false(error instanceof AlreadyReversed);
  t.is(error.kind, "retryable");
  t.is(error.httpStatus, 400, "the reversal's own answer");
  t.is((error.cause as PspError).httpStatus, 503);
});

test("a failure while listing is a PspError too", async (t) => {
  const fake = await fakeFor(t);
  const service = serviceFor(fake.url);
  fake.inject({ method: "GET", path: TRANSFERS, fault: { kind: "status", status: 429 } });
  await failure(t, service.findTransfer("order-1", { seller_transfer_id: "x" }), RateLimited);
  fake.inject({ method: "GET", path: TRANSFERS, fault: { kind: "status", status: 500 } });
  const listing = (async () => {
    for await (const _ of service.listTransfers({ destination: "acct_1Seller" })) {
      // nothing to see: the first page fails
    }
  })();
  const error = await failure(t, listing);
  t.is(error.kind, "unknown");
});
