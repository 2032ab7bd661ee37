/**
 * A child process of the CLI tests, with its output collected for assertions and
 * failure messages, and a bounded wait for its exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves with the exit code, or the signal that ended it; kills it after `ms`. */
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Child {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    process: child,
    output: () => output,
    async exited(ms) {
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      const [code, signal] = await exit;
      clearTimeout(timer);
      return { code, signal };
    },
  };
}

/** The environment of this test process without the variables a test must set itself. */
export function cleanEnv(drop: RegExp): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.test(name)));
}

/** Polls `probe` until truthy; fails with `what` after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
