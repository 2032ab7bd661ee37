/**
 * Configuration from the environment (SPEC §3), validated once at start. A bad
 * value stops the process with a message naming the variable, instead of
 * surfacing later as a confusing failure deep inside a request or a job.
 * `.env.example` at the repository root documents every variable.
 */
import ms from "ms";
import { z } from "zod";

export interface ProviderHyperswitch {
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
}

export interface ProviderStripe {
  secretKey: string;
  /** Where stripe-node sends requests; a stripe-mock or fake PSP in development. */
  apiBase: string;
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

const text = (minLength = 1) =>
  z.string().refine((raw) => raw.trim().length >= minLength, {
    message: minLength > 1 ? `must be at least ${minLength} characters` : "must not be blank",
  });

const schema = z.object({
  DATABASE_URL: url(["postgres:", "postgresql:"], "postgres://user:password@host:5432/db")
    .optional()
    .transform((value) => value ?? null),
  PORT: integer(1, 65535).prefault("4000"),
  JWT_SECRET: text(32).optional(),
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
 * Reads and validates the configuration. Empty values count as unset, the way
 * `VAR= npm start` and docker-compose's `VAR:` are meant.
 * @throws ConfigError listing every invalid variable at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
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
  const problems = crossChecks(result.data, input);
  if (problems.length > 0) throw new ConfigError(problems);
  return build(result.data);
}

function describe(name: string, value: string | undefined): string {
  if (value === undefined) return "unset";
  return SECRETS.has(name) ? `got ${value.length} characters` : `got ${JSON.stringify(value)}`;
}

/** Rules that span several variables. */
function crossChecks(env: Parsed, input: Record<string, string>): string[] {
  const problems: string[] = [];
  const missing = (names: readonly string[]) => names.filter((name) => !(name in input));
  const hyperswitchMissing = missing(HYPERSWITCH_VARS);
  if (hyperswitchMissing.length > 0 && hyperswitchMissing.length < HYPERSWITCH_VARS.length) {
    problems.push(
      `${hyperswitchMissing.join(", ")} must be set: Hyperswitch is configured only when ` +
        `all of ${HYPERSWITCH_VARS.join(", ")} are set (or none, for the fake PSP)`,
    );
  }
  const stripeMissing = missing(STRIPE_REQUIRED_VARS);
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
      "JWT_SECRET must be set (at least 32 characters) when PSP credentials are configured: " +
        "the development secret is accepted only while the fake PSPs are in use",
    );
  }
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

function build(env: Parsed): Readonly<Config> {
  const hyperswitch =
    env.HYPERSWITCH_BASE_URL && env.HYPERSWITCH_API_KEY && env.HYPERSWITCH_WEBHOOK_SECRET
      ? {
          baseUrl: env.HYPERSWITCH_BASE_URL.replace(/\/+$/, ""),
          apiKey: env.HYPERSWITCH_API_KEY,
          webhookSecret: env.HYPERSWITCH_WEBHOOK_SECRET,
        }
      : null;
  const stripe =
    env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET
      ? {
          secretKey: env.STRIPE_SECRET_KEY,
          apiBase: (env.STRIPE_API_BASE ?? STRIPE_DEFAULT_API_BASE).replace(/\/+$/, ""),
          webhookSecret: env.STRIPE_WEBHOOK_SECRET,
        }
      : null;
  return deepFreeze({
    databaseUrl: env.DATABASE_URL,
    port: env.PORT,
    jwtSecret: env.JWT_SECRET ?? DEV_JWT_SECRET,
    jwtSecretIsDevDefault: env.JWT_SECRET === undefined,
    hyperswitch,
    stripe,
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
  });
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (child && typeof child === "object") deepFreeze(child);
  }
  return Object.freeze(value);
}
