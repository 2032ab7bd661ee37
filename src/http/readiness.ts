/**
 * GET /health/ready: may this process take traffic? Yes only when the database
 * answers, carries every migration of this build (an old schema under new code
 * breaks in ways no request should discover), and the worker runs (the API alone
 * would accept orders that nothing moves forward).
 */
import type pg from "pg";
import { migrationStatus } from "../db/migrate.ts";

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; migrations: CheckResult; worker: CheckResult };
}

export interface ReadinessOptions {
  pool: pg.Pool;
  workerAlive: () => boolean;
  /** A probe must answer before the orchestrator's own timeout. (Default: 3000) */
  timeoutMs?: number;
}

export async function checkReadiness(options: ReadinessOptions): Promise<Readiness> {
  const worker: CheckResult = options.workerAlive()
    ? { ok: true }
    : { ok: false, detail: "worker runner is not running" };
  const { database, migrations } = await withTimeout(
    checkDatabase(options.pool),
    options.timeoutMs ?? 3_000,
  ).catch((error: unknown) => ({
    database: { ok: false, detail: message(error) },
    migrations: { ok: false, detail: "not checked: database unreachable" },
  }));
  return {
    ready: database.ok && migrations.ok && worker.ok,
    checks: { database, migrations, worker },
  };
}

async function checkDatabase(
  pool: pg.Pool,
): Promise<Pick<Readiness["checks"], "database" | "migrations">> {
  const client = await pool.connect();
  try {
    await client.query("select 1");
    try {
      const status = await migrationStatus(client);
      return {
        database: { ok: true },
        migrations: status.current
          ? { ok: true }
          : {
              ok: false,
              detail: `database is at ${status.applied ?? "no migration"}, this build expects ${status.expected ?? "(none found)"}`,
            },
      };
    } catch (error) {
      return { database: { ok: true }, migrations: { ok: false, detail: message(error) } };
    }
  } finally {
    client.release();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
