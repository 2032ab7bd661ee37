/**
 * The service's processes as a supervisor runs them: each a child of this one
 * (`node --import tsx <entry>`, one OS process, so SIGKILL hits exactly it), its
 * output kept as a bounded tail for failure reports. `killHard` is an OOM
 * killer's SIGKILL: no shutdown code runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  exited(): boolean;
  /** Settles when the process has exited, with its code or signal. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail(lines?: number): string;
  /** How many output lines matched each `count` pattern so far. */
  counted(name: string): number;
  /** SIGKILL, and wait until it is gone. */
  killHard(): Promise<void>;
  /** SIGTERM (a clean shutdown), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_CHARS = 200_000;

export interface SpawnOptions {
  name: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** Output that says the process is up. */
  ready: RegExp;
  readyTimeoutMs?: number;
  /** Output patterns to count over the whole life of the process (the tail is bounded). */
  count?: Record<string, RegExp>;
}

export async function spawnService(options: SpawnOptions): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", options.entry, ...(options.args ?? [])],
    { cwd: ROOT, env: options.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let exitedFlag = false;
  const counts = new Map<string, number>();
  let partial = "";
  let wake = () => {};
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    wake();
    if (options.count) {
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        for (const [name, pattern] of Object.entries(options.count)) {
          if (pattern.test(line)) counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      }
    }
    if (output.length > TAIL_CHARS * 2) output = output.slice(-TAIL_CHARS);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on("exit", (code, signal) => {
      exitedFlag = true;
      done({ code, signal });
    });
  });
  const service: ServiceProcess = {
    name: options.name,
    child,
    exited: () => exitedFlag,
    exit,
    tail: (lines = 30) => output.trimEnd().split("\n").slice(-lines).join("\n"),
    counted: (name) => counts.get(name) ?? 0,
    async killHard() {
      if (exitedFlag) return;
      child.kill("SIGKILL");
      await exit;
    },
    async stop(graceMs = 15_000) {
      if (exitedFlag) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  while (!options.ready.test(output)) {
    if (exitedFlag) {
      throw new Error(`${options.name} exited during start-up:\n${service.tail(40)}`);
    }
    if (Date.now() > deadline) {
      await service.killHard();
      throw new Error(`${options.name} did not start in time:\n${service.tail(40)}`);
    }
    await Promise.race([new Promise<void>((r) => (wake = r)), exit, sleep(200)]);
  }
  return service;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
