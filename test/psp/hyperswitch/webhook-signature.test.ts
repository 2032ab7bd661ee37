/**
 * X-Webhook-Signature-512 (psp-facts A4): lowercase hex HMAC-SHA512 of the exact
 * body. The fixed vector was computed with openssl, outside this code base, so the
 * verifier and the fake cannot drift together unnoticed. Also the payload parser.
 */
import test from "ava";
import { signatureHeaders } from "../../../src/psp/hyperswitch/fake/events.ts";
import {
  parseWebhookEvent,
  verifyWebhookSignature,
  WebhookPayloadError,
} from "../../../src/psp/hyperswitch/webhooks.ts";

// printf '%s' "$BODY" | openssl dgst -sha512 -hmac whsec_vector
const BODY = '{"event_id":"evt_1","event_type":"payment_succeeded"}';
const SECRET = "whsec_vector";
const SIGNATURE =
  "a975f3f0827e6ac3d40b86b0a5a8aeeb92a64063eaaa09ac122323e3550bd7a2c71c51a591b17df113974b5574d26e8acb0f5529905c5c3a397b6ea6f0b3cebe";

test("a good signature verifies, for a string or a Buffer body", (t) => {
  t.true(verifyWebhookSignature(BODY, SIGNATURE, SECRET));
  t.true(verifyWebhookSignature(Buffer.from(BODY), SIGNATURE, SECRET));
  t.true(
    verifyWebhookSignature(BODY, SIGNATURE.toUpperCase(), SECRET),
    "hex case does not change the bytes",
  );
});

test("the fake signs exactly as documented (same vector)", (t) => {
  t.deepEqual(signatureHeaders(SECRET)(BODY), { "X-Webhook-Signature-512": SIGNATURE });
});

test("one byte changed in the body, or one digit in the signature: rejected", (t) => {
  const tampered = BODY.replace("evt_1", "evt_2");
  t.false(verifyWebhookSignature(tampered, SIGNATURE, SECRET));
  const flipped = (SIGNATURE[0] === "a" ? "b" : "a") + SIGNATURE.slice(1);
  t.false(verifyWebhookSignature(BODY, flipped, SECRET));
  t.false(
    verifyWebhookSignature(`${BODY} `, SIGNATURE, SECRET),
    "re-serialized JSON is not the signed body",
  );
});

test("the wrong secret: rejected", (t) => {
  t.false(verifyWebhookSignature(BODY, SIGNATURE, "whsec_other"));
});

test("missing or malformed headers: false, never a throw", (t) => {
  for (const header of [
    undefined,
    null,
    "",
    "   ",
    SIGNATURE.slice(0, 127),
    `${SIGNATURE}0`,
    `${SIGNATURE.slice(0, 127)}g`,
    `sha512=${SIGNATURE}`,
    [SIGNATURE, SIGNATURE],
  ]) {
    t.false(verifyWebhookSignature(BODY, header, SECRET), JSON.stringify(header) ?? "undefined");
  }
});

test("an empty secret is a configuration error, not a failed check", (t) => {
  t.throws(() => verifyWebhookSignature(BODY, SIGNATURE, ""), { instanceOf: TypeError });
});

const payment = {
  payment_id: "order_1",
  status: "succeeded",
  amount: 100,
  currency: "USD",
  updated: "2026-01-01T00:00:00.000Z",
  future_field: "tolerated",
};
const refund = {
  refund_id: "r_1",
  payment_id: "order_1",
  amount: 100,
  currency: "USD",
  status: "succeeded",
  connector: "fauxpay",
  updated_at: "2026-01-01T00:00:01.000Z",
};
const envelope = { merchant_id: "m", event_id: "evt_9", timestamp: "2026-01-01T00:00:02.000Z" };

test("payment and refund events parse into typed events", (t) => {
  const paymentEvent = parseWebhookEvent(
    JSON.stringify({
      ...envelope,
      event_type: "payment_succeeded",
      content: { type: "payment_details", object: payment },
    }),
  );
  t.is(paymentEvent.content.type, "payment_details");
  t.like(paymentEvent.content.object, {
    payment_id: "order_1",
    updated: "2026-01-01T00:00:00.000Z",
  });
  const refundEvent = parseWebhookEvent(
    Buffer.from(
      JSON.stringify({
        ...envelope,
        event_type: "refund_failed",
        content: { type: "refund_details", object: refund },
      }),
    ),
  );
  t.like(refundEvent, {
    event_type: "refund_failed",
    content: { type: "refund_details", object: { refund_id: "r_1" } },
  });
});

test("events we cannot use are WebhookPayloadError: not JSON, other content, mismatched type, no updated", (t) => {
  const bad = [
    "not json",
    JSON.stringify({
      ...envelope,
      event_type: "dispute_opened",
      content: { type: "dispute_details", object: {} },
    }),
    JSON.stringify({
      ...envelope,
      event_type: "refund_succeeded",
      content: { type: "payment_details", object: payment },
    }),
    JSON.stringify({
      ...envelope,
      event_type: "payment_succeeded",
      content: { type: "payment_details", object: { ...payment, updated: undefined } },
    }),
    JSON.stringify({
      ...envelope,
      event_type: "refund_succeeded",
      content: { type: "refund_details", object: { ...refund, updated_at: null } },
    }),
    JSON.stringify({
      ...envelope,
      event_id: "",
      event_type: "payment_succeeded",
      content: { type: "payment_details", object: payment },
    }),
  ];
  for (const body of bad)
    t.throws(() => parseWebhookEvent(body), { instanceOf: WebhookPayloadError }, body);
});
