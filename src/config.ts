/**
 * Configuration from the environment (SPEC §3), validated once at start. A bad
 * value stops the process with a message naming the variable, instead of
 * surfacing later as a confusing failure deep inside a request or a job.
 * `.env.example` at the repository root documents every variable.
 *
 * Two loaders, one schema: loadConfig for the service, whose API needs the webhook
 * and JWT secrets; loadOperatorConfig for the operator commands, which call the
 * PSPs' APIs at most and so require only those credentials.
 */
import ms from "ms";
import { z } from "zod";

/** What calling Hyperswitch's API takes. */
export interface HyperswitchApi {
  baseUrl: string;
  apiKey: string;
}

/** The API, and the secret our webhook endpoint verifies Hyperswitch's signatures with. */
export interface ProviderHyperswitch extends HyperswitchApi {
  webhookSecret: string;
}

/** What calling Stripe's API takes. */
export interface StripeApi {
  secretKey: string;
  /** Where stripe-node sends requests; a stripe-mock or fake PSP in development. */
  apiBase: string;
}

/** The API, and the secret our webhook endpoint verifies Stripe's signatures with. */
export interface ProviderStripe extends StripeApi {
  webhookSecret: string;
}

export interface RetryPolicy {
  maxRetries: number;
  /** delay = min(backoffBaseMs × 2^retry_count, backoffMaxMs) */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface Config {
  /** null: the embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl: string | null;
  port: number;
  jwtSecret: string;
  /** True when JWT_SECRET was unset and the development secret is in use. */
  jwtSecretIsDevDefault: boolean;
  /** null: Hyperswitch credentials unset (fake PSP territory). */
  hyperswitch: ProviderHyperswitch | null;
  /** null: Stripe credentials unset (fake PSP territory). */
  stripe: ProviderStripe | null;
  pspTimeoutMs: number;
  workerConcurrency: number;
  transferRetry: RetryPolicy;
  reversal: RetryPolicy & { workerEnabled: boolean };
  /** Subscription dunning: retry i of a failed invoice runs this long after its first failure. */
  dunningRetryScheduleMs: readonly number[];
  /** A subscription charge no webhook has settled is looked up at Hyperswitch this long after it was sent, and again as often while it stays open. */
  invoicePaymentLookupAfterMs: number;
  sweepIntervalMs: number;
  /** Shared by all worker processes. */
  stripeMaxRequestsPerSecond: number;
  dataDir: string;
  logLevel: LogLevel;
}

/**
 * What an operator command (`npx settle …`) loads: every setting of Config but the
 * server's own. A command calls the PSPs' APIs, at most: it serves no port,
 * verifies no webhook and signs or checks no JWT, so JWT_SECRET and the webhook
 * secrets are neither required nor handed to it, and a provider counts as
 * configured once the credentials of its API calls are set.
 */
export interface OperatorConfig
  extends Omit<Config, "port" | "jwtSecret" | "jwtSecretIsDevDefault" | "hyperswitch" | "stripe"> {
  /** null: HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY unset. */
  hyperswitch: HyperswitchApi | null;
  /** null: STRIPE_SECRET_KEY (and STRIPE_API_BASE) unset. */
  stripe: StripeApi | null;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
  }
}

/**
 * Signs development tokens only: accepted while no real PSP is configured, so a
 * deployment that talks to real money can never run with a secret from git.
 */
export const DEV_JWT_SECRET = "settle-development-only-jwt-secret-do-not-deploy";

/**
 * HS256 wants a key at least as long as its hash, 256 bits (RFC 7518 §3.2). SPEC §3
 * asks only that JWT_SECRET be set, so a shorter one is accepted, and the server
 * says at start that it is weak (weakJwtSecretWarning).
 */
export const JWT_SECRET_RECOMMENDED_BYTES = 32;

/** Values that are never echoed back in an error message. */
const SECRETS = new Set([
  "JWT_SECRET",
  "HYPERSWITCH_API_KEY",
  "HYPERSWITCH_WEBHOOK_SECRET",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "DATABASE_URL", // may carry a password
]);

const HYPERSWITCH_VARS = [
  "HYPERSWITCH_BASE_URL",
  "HYPERSWITCH_API_KEY",
  "HYPERSWITCH_WEBHOOK_SECRET",
] as const;
/** STRIPE_API_BASE is not a credential: it defaults to Stripe's own API. */
const STRIPE_REQUIRED_VARS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] as const;
/** What calling each API takes: all an operator command needs of a provider. */
const HYPERSWITCH_API_VARS = ["HYPERSWITCH_BASE_URL", "HYPERSWITCH_API_KEY"] as const;
const STRIPE_DEFAULT_API_BASE = "https://api.stripe.com";

const integer = (min: number, max: number) =>
  z.string().transform((raw, ctx) => {
    const value = Number(raw.trim());
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer ${min}-${max}` });
      return z.NEVER;
    }
    return value;
  });

/** `500ms`, `30s`, `1m`, `1h` (anything `ms` reads) → milliseconds. A unit is required. */
const duration = () =>
  z.string().transform((raw, ctx) => {
    const text = raw.trim();
    const value = /[a-z]/i.test(text) ? ms(text as ms.StringValue) : Number.NaN;
    if (!Number.isInteger(value) || value <= 0) {
      ctx.addIssue({
        code: "custom",
        message: "must be a positive duration with a unit, e.g. 500ms, 30s, 1m, 1h",
      });
      return z.NEVER;
    }
    return value;
  });

/** `1d,3d,5d`: durations as `duration()` reads them, each later than the one before. */
const durationList = () =>
  z.string().transform((raw, ctx) => {
    const values = raw.split(",").map((part) => {
      const text = part.trim();
      return /[a-z]/i.test(text) ? ms(text as ms.StringValue) : Number.NaN;
    });
    const valid = values.every((value) => Number.isInteger(value) && value > 0);
    if (!valid || values.some((value, i) => i > 0 && value <= (values[i - 1] ?? 0))) {
      ctx.addIssue({
        code: "custom",
        message:
          "must be increasing positive durations with units, separated by commas, e.g. 1d,3d,5d",
      });
      return z.NEVER;
    }
    return values;
  });

const boolean = () =>
  z.string().transform((raw, ctx) => {
    const text = raw.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(text)) return true;
    if (["false", "0", "no", "off"].includes(text)) return false;
    ctx.addIssue({ code: "custom", message: "must be true or false" });
    return z.NEVER;
  });

const url = (protocols: readonly string[], example: string) =>
  z.string().refine(
    (raw) => {
      try {
        return protocols.includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );

const text = () =>
  z.string().refine((raw) => raw.trim().length > 0, { message: "must not be blank" });

const schema = z.object({
  DATABASE_URL: url(["postgres:", "postgresql:"], "postgres://user:password@host:5432/db")
    .optional()
    .transform((value) => value ?? null),
  PORT: integer(1, 65535).prefault("4000"),
  JWT_SECRET: text().optional(),
  HYPERSWITCH_BASE_URL: url(["http:", "https:"], "https://sandbox.hyperswitch.io").optional(),
  HYPERSWITCH_API_KEY: text().optional(),
  HYPERSWITCH_WEBHOOK_SECRET: text().optional(),
  STRIPE_SECRET_KEY: text().optional(),
  STRIPE_API_BASE: url(["http:", "https:"], "http://127.0.0.1:12111").optional(),
  STRIPE_WEBHOOK_SECRET: text().optional(),
  PSP_TIMEOUT_MS: integer(1, 600_000).prefault("15000"),
  WORKER_CONCURRENCY: integer(1, 1000).prefault("10"),
  TRANSFER_RETRY_MAX_RETRIES: integer(0, 1000).prefault("5"),
  TRANSFER_RETRY_BACKOFF_BASE: duration().prefault("1m"),
  TRANSFER_RETRY_BACKOFF_MAX: duration().prefault("1h"),
  REVERSAL_WORKER_ENABLED: boolean().prefault("true"),
  REVERSAL_MAX_RETRIES: integer(0, 1000).prefault("5"),
  REVERSAL_BACKOFF_BASE: duration().prefault("1m"),
  REVERSAL_BACKOFF_MAX: duration().prefault("1h"),
  DUNNING_RETRY_SCHEDULE: durationList().prefault("1d,3d,5d"),
  INVOICE_PAYMENT_LOOKUP_AFTER: duration().prefault("15m"),
  SWEEP_INTERVAL: duration().prefault("1m"),
  STRIPE_MAX_REQUESTS_PER_SECOND: integer(1, 10_000).prefault("25"),
  SETTLE_DATA_DIR: text().prefault(".data"),
  LOG_LEVEL: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
      error: "must be one of trace, debug, info, warn, error, fatal, silent",
    })
    .prefault("info"),
});

type Parsed = z.output<typeof schema>;

/**
 * Reads and validates the configuration of the service (`npm start`, the worker):
 * its API verifies webhooks and JWTs, so a provider is configured with its webhook
 * secret or not at all, and real PSPs require a JWT_SECRET of our own. Empty values
 * count as unset, the way `VAR= npm start` and docker-compose's `VAR:` are meant.
 * @throws ConfigError listing every invalid variable at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const { parsed, input } = parse(env);
  const problems = [...serviceCredentialChecks(parsed, input), ...backoffChecks(parsed)];
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    ...settings(parsed),
    port: parsed.PORT,
    jwtSecret: parsed.JWT_SECRET ?? DEV_JWT_SECRET,
    jwtSecretIsDevDefault: parsed.JWT_SECRET === undefined,
    hyperswitch:
      parsed.HYPERSWITCH_BASE_URL && parsed.HYPERSWITCH_API_KEY && parsed.HYPERSWITCH_WEBHOOK_SECRET
        ? {
            ...hyperswitchApi(parsed.HYPERSWITCH_BASE_URL, parsed.HYPERSWITCH_API_KEY),
            webhookSecret: parsed.HYPERSWITCH_WEBHOOK_SECRET,
          }
        : null,
    stripe:
      parsed.STRIPE_SECRET_KEY && parsed.STRIPE_WEBHOOK_SECRET
        ? {
            ...stripeApi(parsed.STRIPE_SECRET_KEY, parsed.STRIPE_API_BASE),
            webhookSecret: parsed.STRIPE_WEBHOOK_SECRET,
          }
        : null,
  });
}

/**
 * The start-up warning for a JWT_SECRET shorter than HS256 wants, or null. Tokens
 * are signed and checked with the secret's UTF-8 bytes, so bytes are counted. It
 * names the length, never the secret.
 */
export function weakJwtSecretWarning(config: Pick<Config, "jwtSecret">): string | null {
  const bytes = Buffer.byteLength(config.jwtSecret, "utf8");
  if (bytes >= JWT_SECRET_RECOMMENDED_BYTES) return null;
  return (
    `JWT_SECRET is ${bytes} bytes: HS256 wants at least ${JWT_SECRET_RECOMMENDED_BYTES} bytes ` +
    "(256 bits, RFC 7518 §3.2), and a shorter secret makes tokens easier to forge by " +
    "guessing it; accepted, but set a long random one (e.g. `openssl rand -hex 32`)"
  );
}

/**
 * Reads and validates the configuration of an operator command (OperatorConfig):
 * every variable is checked as for the service, and a value that is set but
 * invalid still stops the command; only the server's cross-variable requirements
 * (webhook secrets, JWT_SECRET) do not apply. Half of a provider's API credentials
 * is still an error: the operator meant to configure it.
 * @throws ConfigError listing every invalid variable at once.
 */
export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): Readonly<OperatorConfig> {
  const { parsed, input } = parse(env);
  const problems = [...operatorCredentialChecks(input), ...backoffChecks(parsed)];
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    ...settings(parsed),
    hyperswitch:
      parsed.HYPERSWITCH_BASE_URL && parsed.HYPERSWITCH_API_KEY
        ? hyperswitchApi(parsed.HYPERSWITCH_BASE_URL, parsed.HYPERSWITCH_API_KEY)
        : null,
    stripe: parsed.STRIPE_SECRET_KEY
      ? stripeApi(parsed.STRIPE_SECRET_KEY, parsed.STRIPE_API_BASE)
      : null,
  });
}

/** Every variable's own format, checked whoever loads the configuration. */
function parse(env: NodeJS.ProcessEnv): { parsed: Parsed; input: Record<string, string> } {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        return `${name} ${issue.message} (${describe(name, input[name])})`;
      }),
    );
  }
  return { parsed: result.data, input };
}

function describe(name: string, value: string | undefined): string {
  if (value === undefined) return "unset";
  return SECRETS.has(name) ? `got ${value.length} characters` : `got ${JSON.stringify(value)}`;
}

const missingFrom = (input: Record<string, string>, names: readonly string[]) =>
  names.filter((name) => !(name in input));

/** The service's provider rules: each provider whole (API and webhook secret) or absent. */
function serviceCredentialChecks(env: Parsed, input: Record<string, string>): string[] {
  const problems: string[] = [];
  const hyperswitchMissing = missingFrom(input, HYPERSWITCH_VARS);
  if (hyperswitchMissing.length > 0 && hyperswitchMissing.length < HYPERSWITCH_VARS.length) {
    problems.push(
      `${hyperswitchMissing.join(", ")} must be set: Hyperswitch is configured only when ` +
        `all of ${HYPERSWITCH_VARS.join(", ")} are set (or none, for the fake PSP)`,
    );
  }
  const stripeMissing = missingFrom(input, STRIPE_REQUIRED_VARS);
  const stripeAny =
    stripeMissing.length < STRIPE_REQUIRED_VARS.length || "STRIPE_API_BASE" in input;
  if (stripeAny && stripeMissing.length > 0) {
    problems.push(
      `${stripeMissing.join(", ")} must be set: Stripe is configured only when ` +
        `${STRIPE_REQUIRED_VARS.join(" and ")} are set (or none of the STRIPE_* variables, for the fake PSP)`,
    );
  }
  const anyProvider = hyperswitchMissing.length < HYPERSWITCH_VARS.length || stripeAny;
  if (anyProvider && env.JWT_SECRET === undefined) {
    problems.push(
      "JWT_SECRET must be set when PSP credentials are configured: " +
        "the development secret is accepted only while the fake PSPs are in use",
    );
  }
  return problems;
}

/** An operator command's provider rules: the API credentials whole or absent. */
function operatorCredentialChecks(input: Record<string, string>): string[] {
  const problems: string[] = [];
  const hyperswitchMissing = missingFrom(input, HYPERSWITCH_API_VARS);
  if (hyperswitchMissing.length === 1) {
    const set = HYPERSWITCH_API_VARS.find((name) => name in input);
    problems.push(
      `${hyperswitchMissing[0]} must be set: ${set} is set, and Hyperswitch's API is called ` +
        `only with both ${HYPERSWITCH_API_VARS.join(" and ")}`,
    );
  }
  if ("STRIPE_API_BASE" in input && !("STRIPE_SECRET_KEY" in input)) {
    problems.push(
      "STRIPE_SECRET_KEY must be set: STRIPE_API_BASE is set, and Stripe's API is called " +
        "only with STRIPE_SECRET_KEY",
    );
  }
  return problems;
}

function backoffChecks(env: Parsed): string[] {
  const problems: string[] = [];
  const backoff = (
    base: "TRANSFER_RETRY_BACKOFF_BASE" | "REVERSAL_BACKOFF_BASE",
    max: "TRANSFER_RETRY_BACKOFF_MAX" | "REVERSAL_BACKOFF_MAX",
  ) => {
    if (env[max] < env[base]) {
      problems.push(
        `${max} must not be shorter than ${base} (got ${ms(env[max])} < ${ms(env[base])})`,
      );
    }
  };
  backoff("TRANSFER_RETRY_BACKOFF_BASE", "TRANSFER_RETRY_BACKOFF_MAX");
  backoff("REVERSAL_BACKOFF_BASE", "REVERSAL_BACKOFF_MAX");
  return problems;
}

function hyperswitchApi(baseUrl: string, apiKey: string): HyperswitchApi {
  return { baseUrl: baseUrl.replace(/\/+$/, ""), apiKey };
}

function stripeApi(secretKey: string, apiBase: string | undefined): StripeApi {
  return { secretKey, apiBase: (apiBase ?? STRIPE_DEFAULT_API_BASE).replace(/\/+$/, "") };
}

/** The settings the service and the operator commands share. */
function settings(env: Parsed): OperatorSettings {
  return {
    databaseUrl: env.DATABASE_URL,
    pspTimeoutMs: env.PSP_TIMEOUT_MS,
    workerConcurrency: env.WORKER_CONCURRENCY,
    transferRetry: {
      maxRetries: env.TRANSFER_RETRY_MAX_RETRIES,
      backoffBaseMs: env.TRANSFER_RETRY_BACKOFF_BASE,
      backoffMaxMs: env.TRANSFER_RETRY_BACKOFF_MAX,
    },
    reversal: {
      workerEnabled: env.REVERSAL_WORKER_ENABLED,
      maxRetries: env.REVERSAL_MAX_RETRIES,
      backoffBaseMs: env.REVERSAL_BACKOFF_BASE,
      backoffMaxMs: env.REVERSAL_BACKOFF_MAX,
    },
    dunningRetryScheduleMs: env.DUNNING_RETRY_SCHEDULE,
    invoicePaymentLookupAfterMs: env.INVOICE_PAYMENT_LOOKUP_AFTER,
    sweepIntervalMs: env.SWEEP_INTERVAL,
    stripeMaxRequestsPerSecond: env.STRIPE_MAX_REQUESTS_PER_SECOND,
    dataDir: env.SETTLE_DATA_DIR,
    logLevel: env.LOG_LEVEL,
  };
}

type OperatorSettings = Omit<OperatorConfig, "hyperswitch" | "stripe">;

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (child && typeof child === "object") deepFreeze(child);
  }
  return Object.freeze(value);
}
