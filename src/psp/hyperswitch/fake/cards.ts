/**
 * What the dummy connector does with each documented test card (psp-facts A5;
 * hyperswitch `routes/dummy_connector/utils.rs`). A connector decline is no HTTP
 * error: the payment answers 200 with `status: "failed"` and the connector's code
 * and message (DC_08 "Payment declined: …", DC_04 for an unsupported card).
 */
export type CardOutcome =
  | { kind: "succeeded" }
  | { kind: "three_ds" }
  | { kind: "failed"; errorCode: string; errorMessage: string };

const declined = (reason: string): CardOutcome => ({
  kind: "failed",
  errorCode: "DC_08",
  errorMessage: `Payment declined: ${reason}`,
});

const OUTCOMES: Record<string, CardOutcome> = {
  "4111111111111111": { kind: "succeeded" },
  "4242424242424242": { kind: "succeeded" },
  "5555555555554444": { kind: "succeeded" },
  "38000000000006": { kind: "succeeded" },
  "378282246310005": { kind: "succeeded" },
  "6011111111111117": { kind: "succeeded" },
  "5105105105105100": declined("Card declined"),
  "4000000000000002": declined("Card declined"),
  "4000000000009995": declined("Insufficient funds"),
  "4000000000009987": declined("Lost card"),
  "4000000000009979": declined("Stolen card"),
  "4000003800000446": { kind: "three_ds" },
};

const NOT_SUPPORTED: CardOutcome = {
  kind: "failed",
  errorCode: "DC_04",
  errorMessage: "Card not supported. Please use test cards",
};

export function cardOutcome(cardNumber: string): CardOutcome {
  return OUTCOMES[cardNumber.replace(/\s+/g, "")] ?? NOT_SUPPORTED;
}
