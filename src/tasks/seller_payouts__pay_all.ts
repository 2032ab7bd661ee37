/**
 * seller_payouts__pay_all: the daily payout run (SPEC §5, crontab). Every seller
 * with a positive available balance that is not held gets one payout per currency
 * of all it has available (settle_private.seller_balances says what and why not);
 * each payout row's trigger enqueues its seller_payouts__create job.
 *
 * One short transaction per payout: a seller that became held or lost its balance
 * since the listing (BALHD/BALEX from the database) is skipped, not the whole run.
 * The run also gives a new job to payouts not sent yet whose job was lost.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import { sql } from "../db/slonik.ts";
import { actAs } from "../flows/database-context.ts";
import type { TaskDeps } from "./deps.ts";

export const TASK = "seller_payouts__pay_all";

/** graphile-worker crontab: every day at 06:00 UTC, one run at a time. */
export const CRONTAB = `0 6 * * * ${TASK} ?jobKey=${TASK}&max=3`;

const Due = z.object({ seller_id: z.string(), currency: z.string() });
const Created = z.object({ id: z.string() });
const Count = z.object({ n: z.number() });
/** Refusals of the balance rules: the seller waits for the next run. */
const REFUSED = new Set(["BALHD", "BALEX"]);

export function makePayAll(deps: TaskDeps): Task {
  const log = deps.logger.child({ task: TASK });
  return async () => {
    const requeued = await deps.db.oneFirst(
      sql.type(Count)`select settle_private.sweep_payouts(interval '1 hour') as n`,
    );
    if (requeued > 0) log.warn({ requeued }, "gave lost jobs back to payouts not sent yet");
    const due = await deps.db.any(sql.type(Due)`
      select s.id as seller_id, b.currency
      from settle.sellers s cross join lateral settle_private.seller_balances(s.id) b
      where b.available > 0 and b.held is null
      order by s.id, b.currency`);
    let created = 0;
    for (const { seller_id, currency } of due) {
      try {
        await deps.db.transaction(async (tx) => {
          await actAs(tx, TASK);
          await tx.one(sql.type(Created)`
            select id from settle_private.create_payout(${seller_id}, null, ${currency})`);
        });
        created += 1;
      } catch (error) {
        const code = sqlStateOf(error);
        if (!code || !REFUSED.has(code)) throw error;
        log.info({ sellerId: seller_id, currency, code }, "seller skipped by this payout run");
      }
    }
    log.info({ created, candidates: due.length }, "daily payout run done");
  };
}

/** slonik wraps the driver's error; its SQLSTATE is a few `cause`s down. */
function sqlStateOf(error: unknown): string | null {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return null;
}
