import { pino } from "pino";

/**
 * The process-wide structured logger. JSON lines on stdout, so they can be shipped
 * and grepped; `LOG_LEVEL` (trace|debug|info|warn|error|fatal|silent) tunes it.
 * (Default: info; silent under the test runner unless LOG_LEVEL says otherwise.)
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.SETTLE_TEST_RUN ? "silent" : "info"),
  base: { service: "settle" },
});

export type Logger = pino.Logger;
