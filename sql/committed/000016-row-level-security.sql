--! Previous: sha1:22fb87422819648374ff7dcefa041a9c9c6456f4
--! Hash: sha1:36c5ceb9bf8c11a7213fcb79c19e62500fde9589
--! Message: row level security

/*
 * Who sees what (SPEC §4). Every table has row-level security; API roles get SELECT
 * only, and only on what their audience may read:
 *   settle_anonymous  nothing: no usage on the schema at all
 *   settle_buyer      its buyers row, its orders and their items, its refunds, its
 *                     subscriptions and their invoices, all plans
 *   settle_seller     its sellers row, its order items, transfers, reversals and
 *                     payouts, all plans
 *   settle_platform   everything except webhook_events and state_transitions
 *   settle_admin      everything
 * No API role has INSERT, UPDATE or DELETE on any table: writes go through SECURITY
 * DEFINER functions that check the caller (api functions migration). "Own" means
 * matching the JWT subject, through settle.current_subject().
 */
grant usage on schema settle to settle_platform, settle_buyer, settle_seller, settle_admin;

do $$
declare
  t text;
begin
  for t in select tablename from pg_tables where schemaname = 'settle' loop
    execute format('alter table settle.%I enable row level security', t);
    execute format('revoke all on settle.%I from public', t);
  end loop;
end
$$;

-- Staff see every business row.
do $$
declare
  t text;
begin
  foreach t in array array['sellers', 'buyers', 'orders', 'order_items', 'refunds', 'seller_transfers',
                           'transfer_reversals', 'seller_payouts', 'plans', 'subscriptions',
                           'subscription_invoices'] loop
    execute format('grant select on settle.%I to settle_platform, settle_admin', t);
    execute format('create policy staff_select on settle.%I for select to settle_platform, settle_admin using (true)', t);
  end loop;
end
$$;

-- Logs of the machinery are for operators only.
grant select on settle.webhook_events, settle.state_transitions to settle_admin;
create policy admin_select on settle.webhook_events for select to settle_admin using (true);
create policy admin_select on settle.state_transitions for select to settle_admin using (true);

-- Plans are the catalogue: every signed-in party may read them.
grant select on settle.plans to settle_buyer, settle_seller;
create policy party_select on settle.plans for select to settle_buyer, settle_seller using (true);

-- A buyer's own rows.
grant select on settle.buyers, settle.orders, settle.order_items, settle.refunds,
  settle.subscriptions, settle.subscription_invoices to settle_buyer;
create policy buyer_select on settle.buyers for select to settle_buyer
  using (id = settle.current_subject());
create policy buyer_select on settle.orders for select to settle_buyer
  using (buyer_id = settle.current_subject());
create policy buyer_select on settle.order_items for select to settle_buyer
  using (exists (select 1 from settle.orders o
                 where o.id = order_id and o.buyer_id = settle.current_subject()));
create policy buyer_select on settle.refunds for select to settle_buyer
  using (exists (select 1 from settle.orders o
                 where o.id = order_id and o.buyer_id = settle.current_subject()));
create policy buyer_select on settle.subscriptions for select to settle_buyer
  using (buyer_id = settle.current_subject());
create policy buyer_select on settle.subscription_invoices for select to settle_buyer
  using (exists (select 1 from settle.subscriptions s
                 where s.id = subscription_id and s.buyer_id = settle.current_subject()));

-- A seller's own rows.
grant select on settle.sellers, settle.order_items, settle.seller_transfers,
  settle.transfer_reversals, settle.seller_payouts to settle_seller;
create policy seller_select on settle.sellers for select to settle_seller
  using (id = settle.current_subject());
create policy seller_select on settle.order_items for select to settle_seller
  using (seller_id = settle.current_subject());
create policy seller_select on settle.seller_transfers for select to settle_seller
  using (seller_id = settle.current_subject());
create policy seller_select on settle.transfer_reversals for select to settle_seller
  using (exists (select 1 from settle.seller_transfers t
                 where t.id = seller_transfer_id and t.seller_id = settle.current_subject()));
create policy seller_select on settle.seller_payouts for select to settle_seller
  using (seller_id = settle.current_subject());
