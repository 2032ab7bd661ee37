/**
 * The run's own view of the database, as an operator's psql session: reads that
 * wait out a database restart (retried for up to a minute) instead of failing
 * the run, and bounded polling.
 */
import pg from "pg";
import { sleep } from "./processes.ts";

export interface Watch {
  rows<T>(text: string, values?: unknown[]): Promise<T[]>;
  end(): Promise<void>;
}

export function openWatch(url: string): Watch {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on("error", () => {}); // an idle client cut by the restart
  return {
    async rows<T>(text: string, values: unknown[] = []) {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await pool.query(text, values)).rows as T[];
        } catch (error) {
          if (attempt >= 60) throw error;
          await sleep(1_000);
        }
      }
    },
    end: () => pool.end(),
  };
}

export class Timeout extends Error {
  override name = "Timeout";
}

/** Polls until `probe` returns something truthy; throws Timeout naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Timeout(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}
