/**
 * `npm run demo`: starts the service on the embedded defaults, runs one order's
 * lifecycle while printing every state change the database records, prints the
 * operator's summary, and stops everything. 0 when the lifecycle completed and
 * the books are clean; 1 with the reason otherwise (a step that did not complete
 * in time, an API error, a non-empty ops view, a failed shutdown).
 */
import { type DemoEnvironment, startDemoEnvironment } from "./environment.ts";
import { runLifecycle } from "./lifecycle.ts";
import { printSummary } from "./summary.ts";
import { printTransitions, type TransitionPrinter } from "./transitions.ts";
import { DemoTimeout } from "./wait.ts";

const sleep = (ms: number) =>
  new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref());

export interface DemoOptions {
  env: NodeJS.ProcessEnv;
  print: (line: string) => void;
  /** The whole run, start-up included, gives up after this long. (Default: 150 s) */
  timeoutMs?: number;
  /** Rejects to abandon the run (e.g. on SIGINT); everything is still stopped. */
  cancelled?: Promise<never>;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const { env, print, timeoutMs = 150_000 } = options;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DemoTimeout(`the demo did not finish within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  // Whatever loses the race still settles later; its failure is already reported.
  const bounded = <T>(work: Promise<T>) => {
    work.catch(() => {});
    return Promise.race([work, deadline, ...(options.cancelled ? [options.cancelled] : [])]);
  };
  const starting = startDemoEnvironment(env);
  let demo: DemoEnvironment | undefined;
  let printer: TransitionPrinter | undefined;
  let code = 0;
  try {
    print("Settle demo: one order's whole lifecycle on the embedded defaults.");
    demo = await bounded(starting);
    print(
      `PostgreSQL: embedded, in ${demo.dataDir}${demo.throwaway ? " (deleted at the end)" : ""}. ` +
        "PSPs: the fakes in this process; no real money moves.",
    );
    print(`API on ${demo.url}. Ids are shown by their first 8 characters.`);
    print("");
    printer = printTransitions(demo.owner, (line) => print(`    ${line}`));
    const transitions = printer;
    // What the previous step caused is printed before the next step starts.
    const step = async (text: string) => {
      await transitions.flush();
      print(`> ${text}`);
    };
    await bounded(runLifecycle(demo, step));
    await bounded(printer.stop());
    print("");
    const problems = await bounded(printSummary(demo.owner, print));
    if (problems.length > 0) {
      print(`demo FAILED: ${problems.join("; ")}`);
      code = 1;
    } else {
      print("demo completed: every step reached its state, and the books are clean.");
    }
  } catch (error) {
    await printer?.stop().catch(() => {}); // what happened up to the failure
    print(`demo FAILED: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  } finally {
    clearTimeout(timer);
    await printer?.stop().catch(() => {});
    // A start-up cut short by the deadline is stopped once it is done, if it gets done.
    const environment =
      demo ?? (await Promise.race([starting.catch(() => undefined), sleep(30_000)]));
    const failures = (await environment?.stop()) ?? [];
    for (const failure of failures) print(`shutdown step failed: ${failure}`);
    if (failures.length > 0) code = 1;
  }
  return code;
}
