/**
 * sweeper: every SWEEP_INTERVAL, gives a job back to every row that should be
 * moving and has none (settle_private.sweep), then schedules its own next run.
 * A worker killed mid-job leaves that job locked for hours; the rows do not wait
 * for it.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import type { Logger } from "../log.ts";

export const SWEEPER_TASK = "sweeper";
export const SWEEPER_JOB_KEY = "sweeper";

const Requeued = z.object({ kind: z.string(), requeued: z.number() });

export function makeSweeper(options: { intervalMs: number; logger: Logger }): Task {
  const log = options.logger.child({ task: SWEEPER_TASK });
  return async (_payload, helpers) => {
    const grace = `${options.intervalMs} milliseconds`;
    const { rows } = await helpers.withPgClient((client) =>
      client.query("select kind, requeued from settle_private.sweep($1::interval)", [grace]),
    );
    const requeued = rows.map((row) => Requeued.parse(row)).filter((r) => r.requeued > 0);
    if (requeued.length)
      log.warn({ requeued }, "sweeper gave jobs back to rows that had lost theirs");
    await helpers.addJob(
      SWEEPER_TASK,
      {},
      { jobKey: SWEEPER_JOB_KEY, runAt: new Date(Date.now() + options.intervalMs) },
    );
  };
}
