--! Previous: sha1:fa7d1b33407853a1c60886394a7f6e528da18e67
--! Hash: sha1:ffe2bee73eb79b76f5aa769c390a566918542c90
--! Message: reconciliation

/*
 * What `settle reconcile` found when it compared our rows with the PSPs' lists
 * (SPEC §8). Every run stores all its mismatches under one run_id, in one
 * transaction, so a run is either wholly here or not at all; a re-run adds a new
 * run rather than editing an old one, which keeps the history of what was seen.
 *   missing_here    the PSP has the object, we have no row for it
 *   missing_there   our row says the object was made, the PSP has no such object
 *   amount_differs  both have it, for different amounts
 *   status_differs  both have it, in states that disagree (our paid, their failed)
 */
create table settle.reconciliation_runs (
  id uuid primary key default gen_random_uuid(),
  since timestamptz not null,
  mismatch_count integer not null constraint reconciliation_runs_count_nonnegative check (mismatch_count >= 0),
  finished_at timestamptz not null default now()
);
comment on table settle.reconciliation_runs is E'One finished `settle reconcile` run, clean or not: without it a clean run would leave no trace and the view would keep showing the run before.';

create table settle.reconciliation_mismatches (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references settle.reconciliation_runs (id) on delete restrict,
  provider text not null constraint reconciliation_mismatches_provider_valid check (provider in ('stripe', 'hyperswitch')),
  kind text not null constraint reconciliation_mismatches_kind_valid check (kind in (
    'missing_here', 'missing_there', 'amount_differs', 'status_differs')),
  entity text not null,
  entity_id uuid,
  psp_id text,
  detail text not null,
  found_at timestamptz not null default now()
);
comment on table settle.reconciliation_mismatches is E'Differences between our rows and the PSPs\' lists, one run of `settle reconcile` per run_id.';
comment on column settle.reconciliation_mismatches.entity is E'Our table the object belongs to (seller_transfers, transfer_reversals, seller_payouts, ...).';
comment on column settle.reconciliation_mismatches.entity_id is E'Our row, null when we have none (missing_here).';
comment on column settle.reconciliation_mismatches.psp_id is E'The PSP\'s id of the object, null when our row has none.';
create index reconciliation_mismatches_run_id_idx on settle.reconciliation_mismatches (run_id);
create index reconciliation_runs_finished_at_idx on settle.reconciliation_runs (finished_at);

-- Operators only, like the other logs of the machinery (row level security migration).
alter table settle.reconciliation_runs enable row level security;
alter table settle.reconciliation_mismatches enable row level security;
revoke all on settle.reconciliation_runs, settle.reconciliation_mismatches from public;
grant select on settle.reconciliation_runs, settle.reconciliation_mismatches to settle_admin;
create policy admin_select on settle.reconciliation_runs for select to settle_admin using (true);
create policy admin_select on settle.reconciliation_mismatches for select to settle_admin using (true);

create view ops.reconciliation_mismatches as
  select m.run_id, m.provider, m.kind, m.entity, m.entity_id, m.psp_id, m.detail, m.found_at
  from settle.reconciliation_mismatches m
  where m.run_id = (select r.id from settle.reconciliation_runs r
                    order by r.finished_at desc, r.id desc limit 1)
  order by m.provider, m.entity, m.kind, m.psp_id;
comment on view ops.reconciliation_mismatches is E'The mismatches of the latest `settle reconcile` run: empty when that run was clean or none ran yet. Older runs stay in settle.reconciliation_mismatches.';
grant select on ops.reconciliation_mismatches to settle_admin;
