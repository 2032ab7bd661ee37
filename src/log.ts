import { pino } from "pino";

/**
 * The process-wide structured logger. JSON lines on stdout, so they can be shipped
 * and grepped; `LOG_LEVEL` (trace|debug|info|warn|error|fatal|silent) tunes it.
 * (Default: info; silent under the test runner unless LOG_LEVEL says otherwise.)
 */
export const logger = pino({
  level: initialLevel(process.env.LOG_LEVEL),
  base: { service: "settle" },
});

/**
 * This module is imported before the configuration is validated, and pino throws
 * on an unknown level; an invalid LOG_LEVEL falls back to info here so that
 * loadConfig (src/config.ts) can reject it with a message naming the variable.
 */
function initialLevel(requested: string | undefined): string {
  if (requested && (requested === "silent" || requested in pino.levels.values)) return requested;
  return process.env.SETTLE_TEST_RUN ? "silent" : "info";
}

export type Logger = pino.Logger;
