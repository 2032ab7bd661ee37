/**
 * Request bodies as the router deserializes them: `PaymentsRequest` and
 * `RefundRequest` are `deny_unknown_fields`, so an unknown field, a wrong type, a
 * missing required field or malformed JSON is a parser error (400 IR_06 with
 * `error_type`), raised before the handler (and so before authentication) runs.
 * Business rules (IR_04, IR_05, …) come later, in the state.
 *
 * The field lists are the documented ones (psp-facts A1, A2). Fields the fake has
 * no behaviour for are accepted and ignored, as a connector without that feature would.
 */
import { z } from "zod";
import { hsErrors } from "./errors.ts";

const ignored = z.unknown().optional();
const optionalText = z.string().nullish();

const CardSchema = z.strictObject({
  card_number: z.string(),
  card_exp_month: z.string(),
  card_exp_year: z.string(),
  card_cvc: z.string(),
  card_holder_name: optionalText,
  card_issuer: optionalText,
  card_network: optionalText,
  card_type: optionalText,
  card_issuing_country: optionalText,
  nick_name: optionalText,
});

export const PaymentsRequestSchema = z.strictObject({
  payment_id: z.string().optional(),
  amount: z.number().int().optional(),
  // An enum in the router: anything but an upper-case ISO-4217 code fails to deserialize.
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "unknown variant, expected an ISO-4217 currency code")
    .optional(),
  amount_to_capture: z.number().int().nullish(),
  confirm: z.boolean().nullish(),
  capture_method: z
    .enum(["automatic", "manual", "manual_multiple", "scheduled", "sequential_automatic"])
    .nullish(),
  customer_id: optionalText,
  customer: ignored,
  email: ignored,
  name: ignored,
  phone: ignored,
  description: optionalText,
  return_url: optionalText,
  payment_method: optionalText,
  payment_method_type: optionalText,
  // Only cards: the fake has no wallet or bank flows.
  payment_method_data: z.strictObject({ card: CardSchema, billing: ignored }).nullish(),
  authentication_type: z.enum(["three_ds", "no_three_ds"]).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  merchant_order_reference_id: optionalText,
  billing: ignored,
  shipping: ignored,
  profile_id: optionalText,
  setup_future_usage: ignored,
  off_session: ignored,
  connector: ignored,
  routing: ignored,
  split_payments: ignored,
  session_expiry: ignored,
  statement_descriptor_name: ignored,
  statement_descriptor_suffix: ignored,
  order_details: ignored,
  browser_info: ignored,
});
export type PaymentsRequest = z.infer<typeof PaymentsRequestSchema>;

export const RefundRequestSchema = z.strictObject({
  payment_id: z.string(),
  refund_id: z.string().optional(),
  amount: z.number().int().nullish(),
  reason: optionalText,
  refund_type: z.enum(["instant", "scheduled"]).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  split_refunds: ignored,
  merchant_connector_details: ignored,
  all_keys_required: ignored,
});
export type RefundRequest = z.infer<typeof RefundRequestSchema>;

/** `PaymentsCancelRequest`: the payment_id comes from the path. */
export const PaymentsCancelRequestSchema = z.strictObject({
  cancellation_reason: optionalText,
  merchant_connector_details: ignored,
  all_keys_required: ignored,
});
export type PaymentsCancelRequest = z.infer<typeof PaymentsCancelRequestSchema>;

/** The body as the router's JSON extractor would take it, or an IR_06 HsError. */
export function deserialize<T>(
  rawBody: string,
  schema: z.ZodType<T> & { shape: Record<string, unknown> },
): T {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw hsErrors.deserialize((error as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw hsErrors.deserialize(`invalid type: ${describe(json)}, expected a JSON object`);
  }
  const parsed = schema.safeParse(json, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw hsErrors.deserialize("invalid body");
  const where = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const field = issue.keys[0];
    // serde names the expected fields of the top-level struct.
    const expected =
      issue.path.length === 0
        ? `, expected one of ${Object.keys(schema.shape)
            .map((k) => `\`${k}\``)
            .join(", ")}`
        : "";
    throw hsErrors.deserialize(`unknown field \`${field}\`${expected}`);
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    throw hsErrors.deserialize(`missing field \`${String(issue.path.at(-1))}\``);
  }
  throw hsErrors.deserialize(`invalid value at \`${where}\`: ${issue.message}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  return typeof value === "string"
    ? `string ${JSON.stringify(value)}`
    : `${typeof value} ${String(value)}`;
}
