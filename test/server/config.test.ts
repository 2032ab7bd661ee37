/**
 * SPEC §3: configuration from the environment, validated at start; an invalid
 * value stops the process with a message naming the variable.
 */
import test from "ava";
import {
  ConfigError,
  DEV_JWT_SECRET,
  loadConfig,
  loadOperatorConfig,
  weakJwtSecretWarning,
} from "../../src/config.ts";

const SECRET = "s".repeat(32);
const HYPERSWITCH = {
  HYPERSWITCH_BASE_URL: "https://sandbox.hyperswitch.io",
  HYPERSWITCH_API_KEY: "snd_key",
  HYPERSWITCH_WEBHOOK_SECRET: "whsec_hs",
};
const STRIPE = { STRIPE_SECRET_KEY: "sk_test_1", STRIPE_WEBHOOK_SECRET: "whsec_st" };

function problem(
  t: import("ava").ExecutionContext,
  env: NodeJS.ProcessEnv,
  load: (env: NodeJS.ProcessEnv) => unknown = loadConfig,
): string {
  const error = t.throws(() => load(env), { instanceOf: ConfigError });
  t.regex(error?.message ?? "", /^Invalid configuration: /);
  return error?.message ?? "";
}

test("the defaults of SPEC §3, with durations in milliseconds", (t) => {
  const config = loadConfig({});
  t.like(config, {
    databaseUrl: null,
    port: 4000,
    jwtSecret: DEV_JWT_SECRET,
    jwtSecretIsDevDefault: true,
    hyperswitch: null,
    stripe: null,
    pspTimeoutMs: 15_000,
    workerConcurrency: 10,
    transferRetry: { maxRetries: 5, backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 },
    reversal: {
      workerEnabled: true,
      maxRetries: 5,
      backoffBaseMs: 60_000,
      backoffMaxMs: 3_600_000,
    },
    sweepIntervalMs: 60_000,
    stripeMaxRequestsPerSecond: 25,
    dataDir: ".data",
    logLevel: "info",
  });
});

test("the configuration is frozen, nested objects included", (t) => {
  const config = loadConfig({});
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.transferRetry));
  t.throws(() => {
    (config as { port: number }).port = 1;
  });
});

test("set values are parsed: integers, durations of every unit, booleans", (t) => {
  const config = loadConfig({
    PORT: "8080",
    WORKER_CONCURRENCY: "3",
    TRANSFER_RETRY_BACKOFF_BASE: "500ms",
    TRANSFER_RETRY_BACKOFF_MAX: "30s",
    REVERSAL_BACKOFF_BASE: "1m",
    REVERSAL_BACKOFF_MAX: "2h",
    SWEEP_INTERVAL: "10s",
    REVERSAL_WORKER_ENABLED: "false",
    DATABASE_URL: "postgres://settle:pw@db.internal:5432/settle",
    SETTLE_DATA_DIR: "/var/lib/settle",
    LOG_LEVEL: "debug",
  });
  t.is(config.port, 8080);
  t.is(config.workerConcurrency, 3);
  t.deepEqual(config.transferRetry, { maxRetries: 5, backoffBaseMs: 500, backoffMaxMs: 30_000 });
  t.like(config.reversal, { workerEnabled: false, backoffBaseMs: 60_000, backoffMaxMs: 7_200_000 });
  t.is(config.sweepIntervalMs, 10_000);
  t.is(config.databaseUrl, "postgres://settle:pw@db.internal:5432/settle");
  t.is(config.dataDir, "/var/lib/settle");
  t.is(config.logLevel, "debug");
});

test("an empty value counts as unset", (t) => {
  t.is(loadConfig({ PORT: "", DATABASE_URL: "" }).port, 4000);
  t.is(loadConfig({ DATABASE_URL: "" }).databaseUrl, null);
});

test("each invalid variable is named, with what it must be and what it got", (t) => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ PORT: "abc" }, /PORT must be an integer 1-65535 \(got "abc"\)/],
    [{ PORT: "70000" }, /PORT must be an integer 1-65535 \(got "70000"\)/],
    [{ PSP_TIMEOUT_MS: "1.5" }, /PSP_TIMEOUT_MS must be an integer/],
    [{ WORKER_CONCURRENCY: "0" }, /WORKER_CONCURRENCY must be an integer 1-1000 \(got "0"\)/],
    [{ TRANSFER_RETRY_MAX_RETRIES: "-1" }, /TRANSFER_RETRY_MAX_RETRIES must be an integer/],
    [
      { TRANSFER_RETRY_BACKOFF_BASE: "soon" },
      /TRANSFER_RETRY_BACKOFF_BASE must be a positive duration/,
    ],
    [
      { TRANSFER_RETRY_BACKOFF_MAX: "60" },
      /TRANSFER_RETRY_BACKOFF_MAX must be a positive duration with a unit/,
    ],
    [
      { REVERSAL_WORKER_ENABLED: "maybe" },
      /REVERSAL_WORKER_ENABLED must be true or false \(got "maybe"\)/,
    ],
    [{ REVERSAL_MAX_RETRIES: "x" }, /REVERSAL_MAX_RETRIES must be an integer/],
    [{ REVERSAL_BACKOFF_BASE: "0s" }, /REVERSAL_BACKOFF_BASE must be a positive duration/],
    [{ REVERSAL_BACKOFF_MAX: "-1m" }, /REVERSAL_BACKOFF_MAX must be a positive duration/],
    [{ SWEEP_INTERVAL: "1 fortnight" }, /SWEEP_INTERVAL must be a positive duration/],
    [{ STRIPE_MAX_REQUESTS_PER_SECOND: "0" }, /STRIPE_MAX_REQUESTS_PER_SECOND must be an integer/],
    [{ DATABASE_URL: "mysql://db/settle" }, /DATABASE_URL must be a URL like postgres:/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of trace, debug, info/],
    [{ JWT_SECRET: " \t " }, /JWT_SECRET must not be blank \(got 3 characters\)/],
    [
      { ...STRIPE, STRIPE_API_BASE: "localhost:12111", JWT_SECRET: SECRET },
      /STRIPE_API_BASE must be a URL/,
    ],
    [
      { ...HYPERSWITCH, HYPERSWITCH_BASE_URL: "sandbox", JWT_SECRET: SECRET },
      /HYPERSWITCH_BASE_URL must be a URL/,
    ],
  ];
  for (const [env, expected] of cases) {
    t.regex(problem(t, env), expected, JSON.stringify(env));
  }
});

test("secrets are never echoed in the message", (t) => {
  const message = problem(t, { DATABASE_URL: "mysql://u:pw@x/db" });
  t.regex(message, /DATABASE_URL must be a URL like .* \(got 17 characters\)/);
  t.false(message.includes("pw@"));
  t.regex(problem(t, { JWT_SECRET: "  " }), /JWT_SECRET must not be blank \(got 2 characters\)/);
});

test("every problem is reported at once", (t) => {
  const message = problem(t, { PORT: "abc", SWEEP_INTERVAL: "later" });
  t.regex(message, /PORT .*; SWEEP_INTERVAL /);
});

test("a backoff maximum shorter than its base is rejected", (t) => {
  t.regex(
    problem(t, { TRANSFER_RETRY_BACKOFF_BASE: "2h" }),
    /TRANSFER_RETRY_BACKOFF_MAX must not be shorter than TRANSFER_RETRY_BACKOFF_BASE \(got 1h < 2h\)/,
  );
  t.regex(
    problem(t, { REVERSAL_BACKOFF_BASE: "10m", REVERSAL_BACKOFF_MAX: "5m" }),
    /REVERSAL_BACKOFF_MAX must not be shorter than REVERSAL_BACKOFF_BASE/,
  );
});

test("a provider's credentials come all together or not at all, naming the missing ones", (t) => {
  const hs = problem(t, { HYPERSWITCH_API_KEY: "k", JWT_SECRET: SECRET });
  t.regex(hs, /HYPERSWITCH_BASE_URL, HYPERSWITCH_WEBHOOK_SECRET must be set/);
  t.notRegex(hs, /HYPERSWITCH_API_KEY must be set/);
  t.regex(
    problem(t, { STRIPE_SECRET_KEY: "sk_test_1", JWT_SECRET: SECRET }),
    /STRIPE_WEBHOOK_SECRET must be set/,
  );
  t.regex(
    problem(t, { STRIPE_API_BASE: "http://127.0.0.1:12111", JWT_SECRET: SECRET }),
    /STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET must be set/,
  );
});

test("JWT_SECRET is required once PSP credentials are given, and used when set", (t) => {
  t.regex(problem(t, { ...STRIPE }), /JWT_SECRET must be set when PSP credentials are configured/);
  t.regex(problem(t, { ...HYPERSWITCH }), /JWT_SECRET must be set/);
  const config = loadConfig({ ...HYPERSWITCH, ...STRIPE, JWT_SECRET: SECRET });
  t.is(config.jwtSecret, SECRET);
  t.false(config.jwtSecretIsDevDefault);
  t.deepEqual(config.hyperswitch, {
    baseUrl: "https://sandbox.hyperswitch.io",
    apiKey: "snd_key",
    webhookSecret: "whsec_hs",
  });
  // STRIPE_API_BASE is where requests go, not a credential: Stripe's own API by default.
  t.deepEqual(config.stripe, {
    secretKey: "sk_test_1",
    apiBase: "https://api.stripe.com",
    webhookSecret: "whsec_st",
  });
  t.is(
    loadConfig({ ...STRIPE, JWT_SECRET: SECRET, STRIPE_API_BASE: "http://127.0.0.1:12111/" }).stripe
      ?.apiBase,
    "http://127.0.0.1:12111",
  );
});

test("a JWT_SECRET may be set while the fake PSPs are on", (t) => {
  const config = loadConfig({ JWT_SECRET: SECRET });
  t.is(config.jwtSecret, SECRET);
  t.false(config.jwtSecretIsDevDefault);
});

test("operator commands need only the API credentials: no JWT_SECRET, no webhook secrets", (t) => {
  const apiOnly = {
    HYPERSWITCH_BASE_URL: "https://sandbox.hyperswitch.io/",
    HYPERSWITCH_API_KEY: "snd_key",
    STRIPE_SECRET_KEY: "sk_test_1",
    STRIPE_API_BASE: "http://127.0.0.1:12111/",
  };
  const config = loadOperatorConfig(apiOnly);
  t.deepEqual(config.hyperswitch, {
    baseUrl: "https://sandbox.hyperswitch.io",
    apiKey: "snd_key",
  });
  t.deepEqual(config.stripe, { secretKey: "sk_test_1", apiBase: "http://127.0.0.1:12111" });
  t.deepEqual(loadOperatorConfig({ STRIPE_SECRET_KEY: "sk_test_1" }).stripe, {
    secretKey: "sk_test_1",
    apiBase: "https://api.stripe.com",
  });
  // The server's secrets are not handed to a command, even when set.
  const full = loadOperatorConfig({ ...HYPERSWITCH, ...STRIPE, JWT_SECRET: SECRET });
  t.false("jwtSecret" in full);
  t.false("webhookSecret" in (full.hyperswitch ?? {}));
  t.false("webhookSecret" in (full.stripe ?? {}));
  t.true(Object.isFrozen(full) && Object.isFrozen(full.stripe));
  // The settings they share are the service's.
  const { port, jwtSecret, jwtSecretIsDevDefault, hyperswitch, stripe, ...shared } = loadConfig({});
  const { hyperswitch: h, stripe: s, ...operatorShared } = loadOperatorConfig({});
  t.deepEqual(operatorShared, shared);
  t.is(h, null);
  t.is(s, null);
  // The service, whose API verifies webhooks and tokens, still refuses the same environment.
  t.regex(
    problem(t, apiOnly),
    /HYPERSWITCH_WEBHOOK_SECRET must be set.*STRIPE_WEBHOOK_SECRET must be set.*JWT_SECRET must be set/,
  );
});

test("an operator command still rejects every invalid variable and half of a provider's API credentials", (t) => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ PORT: "abc" }, /PORT must be an integer 1-65535/],
    [
      { HYPERSWITCH_BASE_URL: "https://sandbox.hyperswitch.io", HYPERSWITCH_API_KEY: " " },
      /HYPERSWITCH_API_KEY must not be blank/,
    ],
    [{ STRIPE_WEBHOOK_SECRET: " " }, /STRIPE_WEBHOOK_SECRET must not be blank/],
    [
      { STRIPE_SECRET_KEY: "sk_test_1", STRIPE_API_BASE: "localhost:1" },
      /STRIPE_API_BASE must be a URL/,
    ],
    [{ TRANSFER_RETRY_BACKOFF_BASE: "2h" }, /TRANSFER_RETRY_BACKOFF_MAX must not be shorter/],
    [
      { HYPERSWITCH_BASE_URL: "https://sandbox.hyperswitch.io" },
      /HYPERSWITCH_API_KEY must be set: HYPERSWITCH_BASE_URL is set, and Hyperswitch's API is called only with both HYPERSWITCH_BASE_URL and HYPERSWITCH_API_KEY/,
    ],
    [
      { HYPERSWITCH_API_KEY: "k", HYPERSWITCH_WEBHOOK_SECRET: "w" },
      /HYPERSWITCH_BASE_URL must be set: HYPERSWITCH_API_KEY is set/,
    ],
    [
      { STRIPE_API_BASE: "http://127.0.0.1:12111" },
      /STRIPE_SECRET_KEY must be set: STRIPE_API_BASE is set/,
    ],
  ];
  for (const [env, expected] of cases) {
    const message = problem(t, env, loadOperatorConfig);
    t.regex(message, expected, JSON.stringify(env));
    t.notRegex(message, /JWT_SECRET must be set|WEBHOOK_SECRET must be set/, JSON.stringify(env));
  }
  // A webhook secret alone configures nothing a command calls: the provider stays unset.
  const webhookOnly = loadOperatorConfig({
    STRIPE_WEBHOOK_SECRET: "whsec_st",
    HYPERSWITCH_WEBHOOK_SECRET: "w",
  });
  t.is(webhookOnly.stripe, null);
  t.is(webhookOnly.hyperswitch, null);
});

test("any non-blank JWT_SECRET is accepted, real PSPs or not (SPEC §3 asks for no length)", (t) => {
  for (const secret of ["short", "x", "s".repeat(31)]) {
    const config = loadConfig({ ...HYPERSWITCH, ...STRIPE, JWT_SECRET: secret });
    t.is(config.jwtSecret, secret);
    t.false(config.jwtSecretIsDevDefault);
  }
});

test("a JWT_SECRET shorter than HS256's 256 bits draws a warning naming its length, never the secret", (t) => {
  const warning = weakJwtSecretWarning({ jwtSecret: "hunter2" });
  t.regex(warning ?? "", /^JWT_SECRET is 7 bytes: HS256 wants at least 32 bytes \(256 bits,/);
  t.false(warning?.includes("hunter2"));
  t.truthy(weakJwtSecretWarning({ jwtSecret: "s".repeat(31) }));
  t.is(weakJwtSecretWarning({ jwtSecret: "s".repeat(32) }), null);
  t.is(weakJwtSecretWarning({ jwtSecret: SECRET }), null);
  // The key is the secret's UTF-8 bytes: 16 two-byte characters make 32 bytes.
  t.is(weakJwtSecretWarning({ jwtSecret: "é".repeat(16) }), null);
  t.is(weakJwtSecretWarning({ jwtSecret: DEV_JWT_SECRET }), null);
});
