/**
 * Process lifecycle for the long-running entry points (main.ts, worker-main.ts):
 * validated configuration or a one-line reason to stop; resources registered as
 * they start and stopped in reverse order on SIGTERM/SIGINT/SIGHUP or when a part
 * dies; exit 0 after a clean shutdown, 1 otherwise. A second signal during the
 * shutdown exits at once (1), unless it is the first one arriving again (see
 * duringShutdown).
 */
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { isConnectionLoss } from "./connection-loss.ts";
import { type Database, openDatabase } from "./database.ts";
import { type Logger, logger } from "./log.ts";

const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/**
 * Prints why the configuration is invalid and exits: nothing has started yet.
 * `load` is the server's loader unless a command needs less (loadOperatorConfig).
 */
export function loadConfigOrExit<C = Readonly<Config>>(
  load: (env: NodeJS.ProcessEnv) => C = loadConfig as (env: NodeJS.ProcessEnv) => C,
  env: NodeJS.ProcessEnv = process.env,
): C {
  try {
    return load(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** The loud start-up warning about the development JWT secret (src/psp/runtime.ts warns about fake PSPs). */
export function warnAboutDefaults(config: Config, logger: Logger): void {
  if (config.jwtSecretIsDevDefault) {
    logger.warn("JWT_SECRET unset: using the development secret; never expose this instance");
  }
}

export interface Service {
  /** Registers a resource's stop; stops run in reverse order of registration. */
  onStop(name: string, stop: () => Promise<unknown>): void;
  /** A part died on its own: shut everything down and exit 1 (a supervisor restarts us). */
  fail(reason: string, error?: unknown): void;
}

/** How long a repeat of the signal that started the shutdown counts as that same request. */
export const DUPLICATE_SIGNAL_WINDOW_MS = 1_000;

export interface ReceivedSignal {
  signal: NodeJS.Signals;
  /** A monotonic time in ms (performance.now()). */
  at: number;
}

/**
 * What a signal that arrives during shutdown means. One Ctrl-C reaches this
 * process more than once: the terminal signals the whole process group, and a
 * wrapper in that group may pass it on again (npm; tsx, which signals its child
 * again when the child takes more than 30 ms to acknowledge). So the same signal within
 * DUPLICATE_SIGNAL_WINDOW_MS of the one that started the shutdown is that same
 * request; a later one (a deliberate second Ctrl-C), another signal, or any
 * signal during a shutdown that no signal started (a failure) means "exit now".
 */
export function duringShutdown(
  first: ReceivedSignal | null,
  next: ReceivedSignal,
  windowMs = DUPLICATE_SIGNAL_WINDOW_MS,
): "same-request" | "exit-now" {
  if (first === null || first.signal !== next.signal) return "exit-now";
  return next.at - first.at < windowMs ? "same-request" : "exit-now";
}

export function runService(logger: Logger, start: (service: Service) => Promise<void>): void {
  const log = logger.child({ component: "lifecycle" });
  const stops: { name: string; stop: () => Promise<unknown> }[] = [];
  let shuttingDown = false;
  /** The signal that started the shutdown, if one did. */
  let firstSignal: ReceivedSignal | null = null;

  const started = start({
    onStop: (name, stop) => stops.push({ name, stop }),
    fail(reason, error) {
      if (shuttingDown) return; // an expected consequence of our own shutdown
      log.fatal({ err: error }, reason);
      void shutdown(1, reason);
    },
  }).then(
    () => true,
    (error: unknown) => {
      log.fatal({ err: error }, "start-up failed");
      void shutdown(1, "start-up failed");
      return false;
    },
  );

  async function shutdown(code: number, reason: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ reason }, "shutting down");
    // A signal during start-up waits for start-up to settle, so that a resource
    // being started right now is registered and stopped too.
    await started;
    let exitCode = code;
    for (const { name, stop } of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log.error({ err: error, resource: name }, "stop failed");
        exitCode = 1;
      }
    }
    log.info({ exitCode }, "shut down");
    process.exit(exitCode);
  }

  // A promise nobody awaited failed. Lost database connections are survived (see
  // src/connection-loss.ts); anything else shuts down in order, exit 1, instead
  // of Node's abrupt exit.
  process.on("unhandledRejection", (reason) => {
    if (isConnectionLoss(reason)) {
      log.warn(
        { error: reason instanceof Error ? reason.message : String(reason) },
        "a database call nobody awaited lost its connection; the sweeper re-drives what it concerned",
      );
      return;
    }
    log.fatal({ err: reason }, "unhandled promise rejection");
    void shutdown(1, "unhandled promise rejection");
  });

  for (const signal of SIGNALS) {
    process.on(signal, () => {
      const received: ReceivedSignal = { signal, at: performance.now() };
      if (!shuttingDown) {
        firstSignal = received;
        void shutdown(0, signal);
        return;
      }
      const first = firstSignal;
      if (first && duringShutdown(first, received) === "same-request") {
        log.info(
          { signal, afterMs: Math.round(received.at - first.at) },
          "the same signal again at once: one request (a terminal signals the whole process group, and a wrapper may relay it), so shutdown continues; sending it again later exits now",
        );
        return;
      }
      log.warn(
        { signal, firstSignal: first?.signal },
        "second signal during shutdown: exiting now",
      );
      process.exit(1);
    });
  }
}

/**
 * The prologue shared by the long-running entry points: configuration (or a
 * one-line reason to stop), the start-up warnings, then the database (registered
 * to stop last) before `start` brings up the rest.
 */
export function runWithDatabase(
  start: (context: Service & { config: Readonly<Config>; database: Database }) => Promise<void>,
): void {
  const config = loadConfigOrExit();
  logger.level = config.logLevel;
  warnAboutDefaults(config, logger);
  runService(logger, async (service) => {
    const database = await openDatabase(config, logger);
    service.onStop("database", database.stop);
    logger.info({ database: database.description }, "database");
    await start({ ...service, config, database });
  });
}
