--! Previous: sha1:08c8fb850492d022ebc8a77c77ec170d79704837
--! Hash: sha1:f982e7f0d8fe24f998fff3788ef79316beb6be5b
--! Message: state machine

/*
 * The state machines of SPEC §4, in one place. Every status column is governed by
 * the same two triggers:
 *   _100_status_transition (BEFORE)  rows start in their entity's initial status;
 *                                    a status change must be listed below
 *   _900_audit_transition (AFTER)    the insert and every change are appended to
 *                                    settle.state_transitions with the actor
 * An UPDATE that names `status` is a transition even when the value stays the same:
 * only the X -> X pairs listed here (recorded retries, renewals) are accepted.
 * Application code cannot go around this; to change a rule, change these rows in a
 * new migration.
 */
create table settle_private.initial_statuses (
  entity text primary key,
  status text not null
);
comment on table settle_private.initial_statuses is E'The status every new row of an entity starts in.';

create table settle_private.allowed_transitions (
  entity text not null references settle_private.initial_statuses (entity),
  from_status text not null,
  to_status text not null,
  primary key (entity, from_status, to_status)
);
comment on table settle_private.allowed_transitions is E'Every status change the database accepts; anything else is rejected (ILTRN).';

insert into settle_private.initial_statuses (entity, status) values
  ('orders', 'pending'),
  ('refunds', 'pending'),
  ('seller_transfers', 'pending'),
  ('transfer_reversals', 'pending'),
  ('seller_payouts', 'pending'),
  ('subscriptions', 'incomplete'),
  ('subscription_invoices', 'pending');

insert into settle_private.allowed_transitions (entity, from_status, to_status) values
  -- orders: confirmed, then paid or not, then refunded in part or in full
  ('orders', 'pending', 'payment_pending'),
  ('orders', 'pending', 'cancelled'),
  ('orders', 'payment_pending', 'paid'),
  ('orders', 'payment_pending', 'failed'),
  ('orders', 'payment_pending', 'cancelled'),
  ('orders', 'paid', 'partially_refunded'),
  ('orders', 'paid', 'refunded'),
  ('orders', 'partially_refunded', 'partially_refunded'),
  ('orders', 'partially_refunded', 'refunded'),
  -- refunds: sent to Hyperswitch (processing), settled by its webhook
  ('refunds', 'pending', 'processing'),
  ('refunds', 'pending', 'succeeded'),
  ('refunds', 'pending', 'failed'),
  ('refunds', 'processing', 'succeeded'),
  ('refunds', 'processing', 'failed'),
  -- seller transfers: made, retried, given up (an admin may retry), cancelled, reversed
  ('seller_transfers', 'pending', 'completed'),
  ('seller_transfers', 'pending', 'failed'),
  ('seller_transfers', 'pending', 'permanently_failed'),
  ('seller_transfers', 'pending', 'cancelled'),
  ('seller_transfers', 'failed', 'completed'),
  ('seller_transfers', 'failed', 'failed'),
  ('seller_transfers', 'failed', 'permanently_failed'),
  ('seller_transfers', 'failed', 'cancelled'),
  ('seller_transfers', 'permanently_failed', 'pending'),
  ('seller_transfers', 'permanently_failed', 'cancelled'),
  ('seller_transfers', 'completed', 'partially_reversed'),
  ('seller_transfers', 'completed', 'reversed'),
  ('seller_transfers', 'partially_reversed', 'partially_reversed'),
  ('seller_transfers', 'partially_reversed', 'reversed'),
  -- transfer reversals: retried in place, done, or given up (an admin may retry)
  ('transfer_reversals', 'pending', 'pending'),
  ('transfer_reversals', 'pending', 'reversed'),
  ('transfer_reversals', 'pending', 'permanently_failed'),
  ('transfer_reversals', 'permanently_failed', 'pending'),
  -- seller payouts (Stripe's spelling)
  ('seller_payouts', 'pending', 'in_transit'),
  ('seller_payouts', 'pending', 'paid'),
  ('seller_payouts', 'pending', 'failed'),
  ('seller_payouts', 'pending', 'canceled'),
  ('seller_payouts', 'in_transit', 'paid'),
  ('seller_payouts', 'in_transit', 'failed'),
  -- subscriptions (Stripe's spelling); active -> active is a renewal
  ('subscriptions', 'incomplete', 'active'),
  ('subscriptions', 'incomplete', 'incomplete_expired'),
  ('subscriptions', 'active', 'active'),
  ('subscriptions', 'active', 'past_due'),
  ('subscriptions', 'active', 'canceled'),
  ('subscriptions', 'past_due', 'active'),
  ('subscriptions', 'past_due', 'canceled'),
  -- subscription invoices: failed -> pending is a dunning retry
  ('subscription_invoices', 'pending', 'paid'),
  ('subscription_invoices', 'pending', 'failed'),
  ('subscription_invoices', 'failed', 'pending'),
  ('subscription_invoices', 'failed', 'uncollectible');

/* The audit trail: one row per insert and per status change, in the same transaction. */
create table settle.state_transitions (
  id bigint generated always as identity primary key,
  entity text not null,
  entity_id uuid not null,
  from_status text,
  to_status text not null,
  actor text not null,
  reason text,
  db_role text not null default current_user,
  at timestamptz not null default clock_timestamp()
);
comment on table settle.state_transitions is E'Append-only audit of every status an entity row took, with the actor: <jwt role>:<sub>, task:<name>, or sql. from_status is null for the insert.';
comment on column settle.state_transitions.reason is E'Why, when the actor said so (transaction setting settle.reason, e.g. an admin retry).';
create index state_transitions_entity_idx on settle.state_transitions (entity, entity_id, id);

create function settle_private.tg__status_transition() returns trigger
language plpgsql
as $$
declare
  allowed text;
begin
  if tg_op = 'INSERT' then
    -- Legacy transfers happened elsewhere and arrive in whatever status they reached.
    -- (Nested: NEW.legacy_import exists on seller_transfers only.)
    if tg_table_name = 'seller_transfers' then
      if NEW.legacy_import then
        return NEW;
      end if;
    end if;
    if NEW.status is distinct from (select status from settle_private.initial_statuses where entity = tg_table_name) then
      raise exception '% % cannot be created in status %: new rows start in %',
          tg_table_name, NEW.id, NEW.status,
          (select status from settle_private.initial_statuses where entity = tg_table_name)
        using errcode = 'INITS';
    end if;
    return NEW;
  end if;

  if not exists (
    select 1 from settle_private.allowed_transitions t
    where t.entity = tg_table_name and t.from_status = OLD.status and t.to_status = NEW.status
  ) then
    select string_agg(to_status, ', ' order by to_status) into allowed
    from settle_private.allowed_transitions t
    where t.entity = tg_table_name and t.from_status = OLD.status;
    raise exception 'illegal transition of % %: % -> %', tg_table_name, OLD.id, OLD.status, NEW.status
      using errcode = 'ILTRN',
            hint = case when allowed is null then format('%s is final', OLD.status)
                        else format('from %s the allowed statuses are: %s', OLD.status, allowed) end;
  end if;
  return NEW;
end;
$$;

create function settle_private.tg__audit_transition() returns trigger
language plpgsql
as $$
begin
  insert into settle.state_transitions (entity, entity_id, from_status, to_status, actor, reason)
  values (
    tg_table_name,
    NEW.id,
    case when tg_op = 'UPDATE' then OLD.status end,
    NEW.status,
    settle_private.current_actor(),
    nullif(current_setting('settle.reason', true), '')
  );
  return null;
end;
$$;

do $$
declare
  t text;
begin
  for t in select entity from settle_private.initial_statuses loop
    execute format(
      'create trigger _100_status_transition before insert or update of status on settle.%I
         for each row execute function settle_private.tg__status_transition()', t);
    execute format(
      'create trigger _900_audit_transition after insert or update of status on settle.%I
         for each row execute function settle_private.tg__audit_transition()', t);
  end loop;
end
$$;
