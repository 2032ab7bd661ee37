/**
 * Jobs are added with generic plans (migration 000042): graphile-worker's add_jobs
 * otherwise plans its statements again on every call. The setting must reach the
 * statements inside add_jobs, keep add_job's meaning (a job key replaces the job
 * waiting under it), and end with the call.
 */
import test from "ava";
import pg from "pg";
import { createTestDatabase } from "../support/database.ts";

test("enqueue adds its job under force_generic_plan, replaces a waiting job with the same key, and leaves the session's setting alone", async (t) => {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  t.teardown(async () => {
    await client.end();
    await database.drop();
  });
  // What the statements inside add_jobs run under, seen from the jobs table itself.
  await client.query(`
    create table public.job_insert_plan_modes (mode text not null);
    create function public.record_plan_mode() returns trigger language plpgsql as $$
    begin
      insert into public.job_insert_plan_modes values (current_setting('plan_cache_mode'));
      return NEW;
    end $$;
    create trigger record_plan_mode before insert on graphile_worker._private_jobs
      for each row execute function public.record_plan_mode()`);

  const enqueue = (payload: object) =>
    client.query(
      "select settle_private.enqueue('test__plans', $1::json, now() + interval '1 hour', 'plans:one')",
      [JSON.stringify(payload)],
    );
  await enqueue({ n: 1 });
  await enqueue({ n: 2 });

  const modes = await client.query<{ mode: string }>(
    "select mode from public.job_insert_plan_modes",
  );
  t.deepEqual(
    modes.rows.map((r) => r.mode),
    ["force_generic_plan", "force_generic_plan"],
  );
  const jobs = await client.query<{ payload: unknown; revision: number }>(
    `select j.payload, j.revision from graphile_worker._private_jobs j
     join graphile_worker._private_tasks k on k.id = j.task_id
     where k.identifier = 'test__plans'`,
  );
  t.deepEqual(jobs.rows, [{ payload: { n: 2 }, revision: 1 }]);
  const after = await client.query<{ mode: string }>(
    "select current_setting('plan_cache_mode') as mode",
  );
  t.is(after.rows[0]?.mode, "auto");
});
