/**
 * What the worker's tasks need, built once per process by the composition root.
 */
import type { Config } from "../config.ts";
import type { DatabasePool } from "../db/slonik.ts";
import type { Logger } from "../log.ts";
import type { HyperswitchClient } from "../psp/hyperswitch/client.ts";
import type { StripeService } from "../psp/stripe/service.ts";

export interface TaskDeps {
  db: DatabasePool;
  stripe: StripeService;
  hyperswitch: HyperswitchClient;
  config: Config;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it. (Default: Date.now) */
  now?: () => number;
}

/** Every task payload is `{ id }` of the row it acts on. */
export { RowPayload } from "./payload.ts";
