/**
 * `npm run chaos`: one run, start to finish. Starts a throwaway database, the
 * fake PSPs (their own process), the API and the worker processes; plays the
 * orders while workers are SIGKILLed and restarted, the database is stopped and
 * started once, and the fakes inject faults; then drains, checks the books and
 * prints the result. Everything it started is stopped, whatever happens.
 * Returns the exit code: 0 when every check passed.
 */
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { makeApi } from "../demo/api.ts";
import { registerSeller } from "./api-calls.ts";
import { readBooks } from "./books.ts";
import { runChecks } from "./checks.ts";
import { startConnector } from "./connector.ts";
import { type ChaosDatabase, freePort, openChaosDatabase } from "./database.ts";
import { drain } from "./drain.ts";
import { type FakePsps, startFakePsps } from "./fakes.ts";
import { firedFaults, installFaults } from "./faults.ts";
import type { ChaosOptions } from "./options.ts";
import { runOrder, type Seller } from "./orders.ts";
import { startPayouts } from "./payouts.ts";
import { sleep } from "./processes.ts";
import { dice } from "./random.ts";
import { printChecks, printPipeline, tally } from "./report.ts";
import { type Fleet, JWT_SECRET, startFleet } from "./services.ts";
import { openWatch, type Watch } from "./watch.ts";

export async function runChaos(
  options: ChaosOptions,
  print: (line: string) => void,
  /** Rejects to abandon the run (SIGINT, SIGTERM); everything started is still stopped. */
  cancelled?: Promise<never>,
): Promise<number> {
  const d = dice(options.seed);
  const tag = randomBytes(3).toString("hex");
  const quiet = pino({ level: "silent" });
  const stops: Array<() => Promise<unknown>> = [];
  let fleet: Fleet | undefined;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const say = (line: string) => print(`[${elapsed()}] ${line}`);
  print(
    `chaos: ${options.orders} orders, ${options.sellers} sellers, fault rate ${options.faultRate}, ` +
      `${options.workers} workers, seed ${options.seed} (repeat with --seed ${options.seed})`,
  );
  const play = async (): Promise<number> => {
    const database: ChaosDatabase = await openChaosDatabase(quiet);
    stops.push(() => database.stop());
    say(`database: ${database.description}`);
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const fakes: FakePsps = await startFakePsps({ seed: options.seed, apiUrl, env: process.env });
    stops.push(() => fakes.process.stop());
    await installFaults(fakes, options.faultRate);
    say(
      `fake PSPs: ${fakes.env.HYPERSWITCH_BASE_URL} (Hyperswitch), ${fakes.env.STRIPE_API_BASE} (Stripe)`,
    );
    fleet = await startFleet({
      chaos: options,
      databaseUrl: database.url,
      apiPort,
      pspEnv: fakes.env,
    });
    const running = fleet;
    stops.push(() => running.stop());
    say(`API on ${apiUrl} (with its own worker) and ${options.workers} worker processes`);
    const watch: Watch = openWatch(database.url);
    stops.push(() => watch.end());
    const api = makeApi(apiUrl, JWT_SECRET);

    const sellers: Seller[] = [];
    for (let n = 0; n < options.sellers; n++) {
      const account = `acct_chaos${tag}${n}`;
      for (let attempt = 0; ; attempt++) {
        try {
          sellers.push({ id: await registerSeller(api, `Seller ${n}`, account), account });
          break;
        } catch (error) {
          if (attempt > 10) throw error;
          await sleep(500);
        }
      }
    }

    // Chaos: workers SIGKILLed and restarted, the database stopped and started once.
    let chaosOn = true;
    let kills = 0;
    const killer = (async () => {
      if (options.killEveryMs === 0) return;
      const kd = d.fork();
      while (chaosOn) {
        await sleep(options.killEveryMs * (0.5 + kd.next()));
        if (!chaosOn) break;
        kills++;
        await running.killWorker(kd.int(0, options.workers - 1), kd.int(200, 2_000));
      }
    })();
    let dbRestart: Promise<void> = Promise.resolve();
    let dbRestartMs: number | null = null;
    const restartDatabase = () => {
      if (!options.restartDatabase || !database.restart) return;
      const restart = database.restart;
      dbRestart = (async () => {
        say("database: stopping (fast shutdown), starting again in 2 s");
        const started = Date.now();
        await restart(2_000);
        dbRestartMs = Date.now() - started;
        say(`database: back after ${(dbRestartMs / 1000).toFixed(1)} s`);
      })();
    };
    const payouts = startPayouts({
      api,
      watch,
      stripe: fakes.stripe,
      sellers,
      d: d.fork(),
      everyMs: 4_000,
    });
    stops.push(() => payouts.stop());

    // The orders, `concurrency` at a time.
    const stories: string[] = [];
    const failures: string[] = [];
    let next = 0;
    let done = 0;
    const restartAt = Math.max(1, Math.floor(options.orders / 2));
    const actor = async () => {
      while (next < options.orders) {
        const n = next++;
        // Each order's own stream: its plan does not depend on which actor plays it.
        const od = dice((options.seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
        try {
          stories.push(
            await runOrder(
              { api, watch, hyperswitch: fakes.hyperswitch, sellers, tag, stepTimeoutMs: 120_000 },
              n,
              od,
            ),
          );
        } catch (error) {
          failures.push(`order ${n}: ${error instanceof Error ? error.message : String(error)}`);
        }
        done++;
        // Mid-run: half the orders done, the other half in flight or to come.
        if (done === restartAt) restartDatabase();
        if (options.verbose || done % Math.max(1, Math.floor(options.orders / 10)) === 0)
          say(`${done}/${options.orders} orders played`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, () => actor()));
    const playedAt = Date.now();
    chaosOn = false;
    await killer;
    await dbRestart;
    const payoutRequestsStopped = payouts.stopRequests();
    say(`orders played; ${kills} worker kills so far. Draining…`);

    const connector = startConnector(fakes.hyperswitch);
    stops.push(() => connector.stop());
    // Timed from the last order's end: payout requests may still be winding down.
    const drained = await drain(watch, options.drainTimeoutMs - (Date.now() - playedAt), (left) =>
      say(`drain: ${left} row(s) not settled yet`),
    );
    const drainMs = Date.now() - playedAt;
    await payoutRequestsStopped;
    await payouts.stop();
    await connector.stop();
    say(
      `drain: ${drained.left.length === 0 ? "done" : "TIMED OUT"} ${(drainMs / 1000).toFixed(1)} s after the last order`,
    );

    const books = await readBooks(fakes, watch);
    const faults = await firedFaults(fakes);
    const lockedByDead = await watch.rows<{ n: string }>(
      // After the drain nothing runs for long: a job locked for more than 30 s is a
      // killed worker's, which graphile-worker alone would leave locked for 4 hours.
      `select count(*)::text as n from graphile_worker._private_jobs
       where locked_at < now() - interval '30 seconds'`,
    );

    print("");
    print("what happened to the orders:");
    print(tally(stories));
    for (const failure of failures) print(`  order not played to its end: ${failure}`);
    await printPipeline(watch, print);
    print(
      `faults injected: ${
        Object.entries(faults)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ") || "none"
      }`,
    );
    print(
      `processes: ${kills} worker SIGKILLs, unexpected exits restarted: ${JSON.stringify(running.unexpectedExits())}; ` +
        `database restart: ${dbRestartMs === null ? (database.restart ? "not done" : "not possible on DATABASE_URL") : `${(dbRestartMs / 1000).toFixed(1)} s down`}`,
    );
    if (options.verbose) for (const report of running.exitReports()) print(report);
    print(
      `sweeper: re-drove lost jobs ${running.counted("sweeperRequeued")} time(s); jobs still locked (dead workers', ` +
        `graphile-worker would release them after 4 h): ${lockedByDead[0]?.n ?? "?"}`,
    );
    print(
      `payouts: ${payouts.tally.requested} createPayout, ${payouts.tally.payAllRuns} pay-all runs, ` +
        `${payouts.tally.refused} refused (held/nothing available), bank: ${payouts.tally.settledPaid} paid, ${payouts.tally.settledFailed} failed`,
    );
    if (connector.settled() > 0)
      print(
        `connector: settled ${connector.settled()} refund(s) left pending after their order stopped waiting`,
      );
    print(
      `time to drain: ${(drainMs / 1000).toFixed(1)} s (play: ${((playedAt - t0) / 1000).toFixed(1)} s)`,
    );
    print("");
    const results = runChecks(books, drained.left);
    if (failures.length > 0)
      results.unshift({
        name: "every order played to its end",
        checked: options.orders,
        violations: failures,
      });
    const violations = printChecks(results, print);
    print("");
    if (violations > 0) {
      if (options.verbose) print(running.tails());
      print(`chaos FAILED: ${violations} violation(s); repeat with --seed ${options.seed}`);
      return 1;
    }
    print(`chaos passed: ${options.orders} orders, every check holds (seed ${options.seed}).`);
    return 0;
  };
  try {
    const played = play();
    played.catch(() => {}); // reported below when it wins the race
    return await Promise.race([played, ...(cancelled ? [cancelled] : [])]);
  } catch (error) {
    print(`chaos FAILED to run: ${error instanceof Error ? error.stack : String(error)}`);
    if (fleet) print(fleet.tails());
    return 1;
  } finally {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) =>
        print(`stopping: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  }
}
