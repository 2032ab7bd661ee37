/**
 * What graphile-worker resolved for this CLI run (its connection, concurrency and
 * event emitter, after `-c`, `-j`, DATABASE_URL and graphile.config.ts are
 * merged), handed from the config's plugin to the task list it loads later.
 *
 * The stock CLI gives the task file nothing but an import, so the hand-over is a
 * process-wide slot. Not a module-level variable: the config and the task list
 * may be loaded by different module loaders (graphile-config may `require` the
 * config, graphile-worker `import`s the tasks, and `NODE_OPTIONS=--import=tsx`
 * adds a third), each with its own instance of this module; `Symbol.for` names
 * one slot for all of them. Erasable syntax only: Node's own type stripping loads
 * this file with graphile.config.ts, before tsx is registered.
 */
import type { WorkerEvents } from "graphile-worker";

export interface WorkerSession {
  /** Unset when the connection comes from PG* variables only. */
  connectionString: string | undefined;
  concurrentJobs: number;
  /** Emits `pool:release` when the CLI's worker pool has finished. */
  events: WorkerEvents;
}

const SLOT = Symbol.for("settle.graphile-worker-cli.session");
const slots = globalThis as unknown as Record<symbol, WorkerSession | undefined>;

export function recordSession(session: WorkerSession): void {
  slots[SLOT] = session;
}

export function currentSession(): WorkerSession | undefined {
  return slots[SLOT];
}
