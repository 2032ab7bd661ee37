/**
 * `npm run chaos` options (commander): the size of the run, how hard the world
 * is on it, and the seed that makes a failing run repeatable.
 */
import { Command, InvalidArgumentError, Option } from "commander";

export interface ChaosOptions {
  orders: number;
  sellers: number;
  /** Probability that one PSP request meets an injected fault. */
  faultRate: number;
  seed: number;
  workers: number;
  /** Orders in flight at once. */
  concurrency: number;
  /** A worker is killed on average this often (ms); 0 = never. */
  killEveryMs: number;
  /** Stop and start the database once, mid-run. */
  restartDatabase: boolean;
  /** How long the drain may take before the run fails. */
  drainTimeoutMs: number;
  /** SWEEP_INTERVAL of the service processes. */
  sweepInterval: string;
  /** TRANSFER_RETRY_MAX_RETRIES and REVERSAL_MAX_RETRIES of the service processes. */
  maxRetries: number;
  /** Print every process's output tail on failure, and progress lines. */
  verbose: boolean;
}

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new InvalidArgumentError(`must be an integer ${min}-${max}`);
  }
  return n;
};

const probability = (value: string) => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 0.5) {
    throw new InvalidArgumentError("must be a number 0-0.5");
  }
  return n;
};

const seconds = (value: string) => integer(1, 86_400)(value) * 1000;

export function chaosCommand(run: (options: ChaosOptions) => Promise<number>): Command {
  return new Command("chaos")
    .description(
      "Marketplace orders through the whole lifecycle against the fake PSPs out of process, " +
        "with injected faults, workers killed with SIGKILL and a database restart; then a drain " +
        "and the checks: our books equal the PSPs', one execution per key, nothing stuck, no " +
        "broken money invariant.",
    )
    .addOption(
      new Option("--orders <n>", "orders to run").default(60).argParser(integer(1, 100_000)),
    )
    .addOption(new Option("--sellers <n>", "sellers").default(6).argParser(integer(1, 1_000)))
    .addOption(
      new Option("--fault-rate <p>", "chance that a PSP request meets a fault (0-0.5)")
        .default(0.1)
        .argParser(probability),
    )
    .addOption(
      new Option(
        "--seed <n>",
        "seed of every random choice (default: from the clock, printed)",
      ).argParser(integer(0, 0xffffffff)),
    )
    .addOption(new Option("--workers <n>", "worker processes").default(2).argParser(integer(1, 8)))
    .addOption(
      new Option("--concurrency <n>", "orders in flight at once")
        .default(6)
        .argParser(integer(1, 200)),
    )
    .addOption(
      new Option("--kill-every <s>", "mean seconds between SIGKILLs of a worker (0: none)")
        .default(6_000, "6")
        .argParser((v) => (v === "0" ? 0 : seconds(v))),
    )
    .addOption(new Option("--no-db-restart", "do not stop and start the database mid-run"))
    .addOption(
      new Option("--drain-timeout <s>", "how long the drain may take")
        .default(180_000, "180")
        .argParser(seconds),
    )
    .addOption(
      new Option("--sweep-interval <duration>", "SWEEP_INTERVAL of the service processes").default(
        "1s",
      ),
    )
    .addOption(
      new Option(
        "--max-retries <n>",
        "retries of a transfer or reversal before it gives up for a human (raise it with the fault rate)",
      )
        .default(8)
        .argParser(integer(0, 100)),
    )
    .option("--verbose", "progress lines, and process output on failure", false)
    .action(
      async (
        raw: Omit<ChaosOptions, "seed" | "restartDatabase" | "killEveryMs" | "drainTimeoutMs"> & {
          seed?: number;
          dbRestart: boolean;
          killEvery: number;
          drainTimeout: number;
        },
      ) => {
        const options: ChaosOptions = {
          orders: raw.orders,
          sellers: raw.sellers,
          faultRate: raw.faultRate,
          seed: raw.seed ?? Date.now() % 0xffffffff,
          workers: raw.workers,
          concurrency: raw.concurrency,
          killEveryMs: raw.killEvery,
          restartDatabase: raw.dbRestart,
          drainTimeoutMs: raw.drainTimeout,
          sweepInterval: raw.sweepInterval,
          maxRetries: raw.maxRetries,
          verbose: raw.verbose,
        };
        process.exitCode = await run(options);
      },
    );
}
