--! Previous: -
--! Hash: sha1:855fea70c40e8d1d2d4892acc8af3f4904702ee4
--! Message: roles

/*
 * Roles of the API. They are NOLOGIN: nobody connects as them. The server connects
 * as its own login role (the one that runs these migrations) and switches, per
 * GraphQL request and inside that request's transaction, to the role named by the
 * caller's JWT (`set local role`). Roles are cluster-wide objects, so this file must
 * be safe to run again in another database of the same cluster.
 *
 *   settle_anonymous  requests without a valid JWT: sees nothing in schema settle
 *   settle_platform   the marketplace back end: registers parties, creates orders
 *   settle_buyer      a buyer (jwt.claims.sub = buyers.id): its own rows only
 *   settle_seller     a seller (jwt.claims.sub = sellers.id): its own rows only
 *   settle_admin      operators: everything, including audit and webhook logs
 */
do $$
declare
  r text;
begin
  foreach r in array array['settle_anonymous', 'settle_platform', 'settle_buyer',
                           'settle_seller', 'settle_admin'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
    -- The login role must be able to `set role` to each of them.
    if not exists (
      select 1 from pg_auth_members m
      where m.roleid = (select oid from pg_roles where rolname = r)
        and m.member = (select oid from pg_roles where rolname = current_user)
    ) then
      execute format('grant %I to %I', r, current_user);
    end if;
  end loop;
end
$$;
