/**
 * Prints every row of settle.state_transitions once, as
 * `entity id from -> to (actor)`, while the demo runs: what the database recorded,
 * not what the demo believes it did.
 */
import type pg from "pg";

interface Transition {
  id: string;
  entity: string;
  entity_id: string;
  from_status: string | null;
  to_status: string;
  actor: string;
}

export interface TransitionPrinter {
  /** Prints what was recorded since the last call. */
  flush(): Promise<void>;
  /** Stops the background polling after a last flush. */
  stop(): Promise<void>;
}

/** Ids are shown by their first 8 characters, in the actors too. */
export const short = (id: string) => id.slice(0, 8);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function formatTransition(row: Transition): string {
  return [
    row.entity.padEnd(18),
    short(row.entity_id),
    ` ${(row.from_status ?? "(new)").padStart(18)} -> ${row.to_status.padEnd(18)}`,
    `(${row.actor.replace(UUID, short)})`,
  ].join(" ");
}

export function printTransitions(
  pool: pg.Pool,
  print: (line: string) => void,
  intervalMs = 100,
): TransitionPrinter {
  // A few dozen rows in all: reading them all each time, rather than those past
  // the last id seen, cannot miss a row whose transaction commits after a later id's.
  const printed = new Set<string>();
  const read = async () => {
    const { rows } = await pool.query<Transition>(
      `select id::text, entity, entity_id::text, from_status, to_status, actor
       from settle.state_transitions order by id`,
    );
    for (const row of rows) {
      if (printed.has(row.id)) continue;
      printed.add(row.id);
      print(formatTransition(row));
    }
  };
  // One read at a time, in order; a failed read does not stop the later ones.
  let running: Promise<void> = Promise.resolve();
  const flush = () => {
    running = running.catch(() => {}).then(read);
    return running;
  };
  const timer = setInterval(() => {
    flush().catch(() => {}); // the next flush (or stop) reports a lasting failure
  }, intervalMs);
  return {
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
