--! Previous: sha1:855fea70c40e8d1d2d4892acc8af3f4904702ee4
--! Hash: sha1:fe93cb63acbbaf319b0836496c345bd7288d1de7
--! Message: schemas and identity

/*
 * Schemas:
 *   settle          the data model of SPEC §4, exposed through GraphQL (reads) and
 *                   SECURITY DEFINER functions (writes)
 *   settle_private  rules, trigger functions and job plumbing; never exposed, never
 *                   granted to API roles
 *   ops             views for operators at a psql prompt (SPEC §7)
 *
 * Identity comes from transaction-local settings that the server sets per request
 * (`jwt.claims.role`, `jwt.claims.sub`) and that worker tasks set for themselves
 * (`settle.actor`, e.g. 'task:transfer__create'). Nothing else is trusted.
 */
create schema settle;
comment on schema settle is E'Settle: payments, transfers, refunds, reversals, payouts and subscriptions of a two-sided marketplace.';
create schema settle_private;
comment on schema settle_private is E'Rules and plumbing of Settle: trigger functions, allowed transitions, job enqueueing. Not for API roles.';
create schema ops;
comment on schema ops is E'Views for operators: pipeline summary, stuck work, broken invariants.';

-- Functions are not executable by everyone unless we say so.
alter default privileges revoke execute on functions from public;
revoke all on schema settle_private from public;

/*
 * The JWT subject as a uuid, or null when absent or not a uuid (a malformed claim
 * must read as "nobody", never as an error that leaks into row filtering).
 */
create function settle.current_subject() returns uuid
language sql stable parallel safe
as $$
  select case
    when s ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then s::uuid
  end
  from (select current_setting('jwt.claims.sub', true) as s) as claim
$$;
comment on function settle.current_subject() is E'@behavior -*\nThe caller''s JWT subject (jwt.claims.sub) as a uuid; null when absent or malformed.';

create function settle.current_role_claim() returns text
language sql stable parallel safe
as $$
  select nullif(current_setting('jwt.claims.role', true), '')
$$;
comment on function settle.current_role_claim() is E'@behavior -*\nThe caller''s JWT role claim (jwt.claims.role); null outside API requests.';

grant execute on function settle.current_subject(), settle.current_role_claim()
  to settle_anonymous, settle_platform, settle_buyer, settle_seller, settle_admin;

/*
 * Who is acting, for the audit trail: the JWT role and subject of an API request,
 * else the worker task that set `settle.actor`, else `sql` (a person at a prompt).
 */
create function settle_private.current_actor() returns text
language sql stable
as $$
  select coalesce(
    settle.current_role_claim()
      || coalesce(':' || nullif(current_setting('jwt.claims.sub', true), ''), ''),
    nullif(current_setting('settle.actor', true), ''),
    'sql'
  )
$$;

/* Keeps updated_at honest without every writer remembering it. */
create function settle_private.tg__touch_updated_at() returns trigger
language plpgsql
as $$
begin
  NEW.updated_at := now();
  return NEW;
end;
$$;

/*
 * Errors raised by Settle's rules carry a five-character SQLSTATE of our own, so the
 * API can map them to stable codes (graphile-starter's rules: the first character is
 * not F, H, P or X, the third is not 0 or P, the fourth is a letter).
 *   ILTRN  illegal status transition            INITS  insert not in the initial status
 *   IMMUT  column that may not change now       TOTAL  order total <> sum of its items
 *   RFEXC  refunds above the order total        TREXC  transfers above the seller's share
 *   RVEXC  reversals above the transfer amount  RVREF  reversals above succeeded refunds
 *   SUBGT  active subscription without paid invoice for its period
 *   VALID  invalid input to an API function     (42501 = not allowed for this caller)
 */
