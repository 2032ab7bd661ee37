--! Previous: sha1:609113d5bd8b5ba17043f3b3a45b7d5c1cd65528
--! Hash: sha1:a97cae4789c6a0987d7c8c3e580623c9ae72a3df
--! Message: jobs are added with generic plans

/*
 * Every row that needs a job gets it from settle_private.enqueue, which calls
 * graphile_worker.add_job, which calls add_jobs: five statements over
 * unnest(specs). Under the default plan_cache_mode PostgreSQL compares the generic
 * plan of those statements (an array parameter of unknown length) with a custom
 * plan for a one-element array, keeps choosing custom, and so plans all five again
 * on every call: 0.6 ms per job on PostgreSQL 18 against 0.2 ms with generic
 * plans, the insert itself being 0.03 ms. A refund adds four jobs, three of them on
 * its path to the reversals (npm run bench; pg_stat_statements put add_job at a
 * third of a refund's statement time under load).
 *
 * The generic plans are the right ones whatever the queue's size: each statement
 * reaches the jobs table through its unique key or the task and queue names, and
 * with 200 000 jobs waiting a call still took 0.2 ms. The setting holds for the
 * duration of enqueue's call only (a function's SET clause), so graphile-worker's
 * own queries and ours elsewhere keep the server's default.
 */
alter function settle_private.enqueue(text, json, timestamptz, text, text[])
  set plan_cache_mode = force_generic_plan;
