--! Previous: sha1:f58e076aab69b082c277fc515c76ff7db7878607
--! Hash: sha1:b39de3ea179e6903fc19dcb92c1f5ad4f62fea32
--! Message: ops views

/*
 * Views for the operator at a psql prompt (SPEC §7). Each answers one question; all
 * read the live tables, so they are always current. Thresholds that say "stuck" are
 * deliberately generous: a row here wants a human look, not a page.
 */
create view ops.pipeline_summary as
  select 'orders' as entity, status, count(*) as count, sum(total_amount)::bigint as amount from settle.orders group by status
  union all
  select 'refunds', status, count(*), sum(amount)::bigint from settle.refunds group by status
  union all
  select 'seller_transfers', status, count(*), sum(amount)::bigint from settle.seller_transfers group by status
  union all
  select 'transfer_reversals', status, count(*), sum(amount)::bigint from settle.transfer_reversals group by status
  union all
  select 'seller_payouts', status, count(*), sum(amount)::bigint from settle.seller_payouts group by status
  union all
  select 'subscriptions', status, count(*), null::bigint from settle.subscriptions group by status
  union all
  select 'subscription_invoices', status, count(*), sum(amount)::bigint from settle.subscription_invoices group by status;
comment on view ops.pipeline_summary is E'How many rows, and how much money (minor units, all currencies added), sit in each status of each entity.';

create view ops.stuck_transfers as
  select t.id, t.order_id, t.seller_id, t.amount, t.currency, t.status, t.retry_count,
         t.next_retry_at, t.last_error, t.updated_at, now() - t.updated_at as age,
         case
           when t.status = 'permanently_failed' then 'gave up: needs an admin retry or cancel'
           else 'overdue: no progress for more than 15 minutes past its due time'
         end as why
  from settle.seller_transfers t
  where t.status = 'permanently_failed'
     or (t.status in ('pending', 'failed')
         and coalesce(t.next_retry_at, t.updated_at) < now() - interval '15 minutes');
comment on view ops.stuck_transfers is E'Seller transfers that wait on a human (permanently_failed) or have not moved for 15 minutes past their due time.';

create view ops.reversal_backlog as
  select r.id, r.seller_transfer_id, t.seller_id, r.refund_id, r.amount, t.currency, r.status,
         r.retry_count, r.next_retry_at, r.last_error, r.created_at, now() - r.created_at as age,
         r.status = 'pending' and coalesce(r.next_retry_at, r.created_at) <= now() as due
  from settle.transfer_reversals r
  join settle.seller_transfers t on t.id = r.seller_transfer_id
  where r.status in ('pending', 'permanently_failed')
  order by r.created_at;
comment on view ops.reversal_backlog is E'Reversals not done yet: pending (due = may run now) and permanently_failed (needs an admin retry), oldest first.';

create view ops.transfers_missing_stripe_id as
  select t.id, t.order_id, t.seller_id, t.amount, t.currency, t.status, t.legacy_import, t.created_at
  from settle.seller_transfers t
  where t.status in ('completed', 'partially_reversed', 'reversed')
    and coalesce(t.stripe_transfer_id, '') = '';
comment on view ops.transfers_missing_stripe_id is E'Transfers recorded as made but without their Stripe id (legacy imports only); `settle backfill-transfer-ids` repairs them.';

create view ops.refunds_without_psp_id as
  select f.id, f.order_id, f.amount, f.status, f.created_at, now() - f.created_at as age
  from settle.refunds f
  where f.status <> 'failed' and coalesce(f.hyperswitch_refund_id, '') = '';
comment on view ops.refunds_without_psp_id is E'Refunds not failed that have no Hyperswitch refund id: still pending phase 2, or sent without us learning the id.';

/*
 * One row per broken rule; empty when the books are consistent. The database refuses
 * most of these at commit, so a row here means a rule was bypassed (triggers disabled,
 * data restored from elsewhere) or concerns data that is allowed but wrong (legacy).
 */
create view ops.money_invariants as
  -- orders: total = sum of items
  select 'order_total_equals_items' as invariant, 'orders' as entity, o.id as entity_id,
         format('total_amount %s, items add up to %s', o.total_amount, coalesce(i.items, 0)) as detail
  from settle.orders o
  left join (select order_id, sum(amount) as items from settle.order_items group by order_id) i on i.order_id = o.id
  where o.total_amount <> coalesce(i.items, 0)
  union all
  -- refunds not failed <= order total
  select 'refunds_within_order_total', 'orders', o.id,
         format('refunds not failed add up to %s, order total %s', f.refunded, o.total_amount)
  from settle.orders o
  join (select order_id, sum(amount) as refunded from settle.refunds where status <> 'failed' group by order_id) f
    on f.order_id = o.id
  where f.refunded > o.total_amount
  union all
  -- transfers not cancelled <= seller's share, per (order, seller)
  select 'transfers_within_seller_share', 'orders', t.order_id,
         format('seller %s: transfers add up to %s, share %s', t.seller_id, t.transferred, coalesce(s.share, 0))
  from (select order_id, seller_id, sum(amount) as transferred from settle.seller_transfers
        where status <> 'cancelled' group by order_id, seller_id) t
  left join (select order_id, seller_id, sum(amount - platform_fee) as share from settle.order_items
             group by order_id, seller_id) s on s.order_id = t.order_id and s.seller_id = t.seller_id
  where t.transferred > coalesce(s.share, 0)
  union all
  -- reversals not permanently failed <= transfer amount
  select 'reversals_within_transfer', 'seller_transfers', t.id,
         format('reversals add up to %s, transfer amount %s', r.reversing, t.amount)
  from settle.seller_transfers t
  join (select seller_transfer_id, sum(amount) as reversing from settle.transfer_reversals
        where status <> 'permanently_failed' group by seller_transfer_id) r on r.seller_transfer_id = t.id
  where r.reversing > t.amount
  union all
  -- reversals of an order <= its succeeded refunds
  select 'reversals_within_refunds', 'orders', r.order_id,
         format('reversals add up to %s, succeeded refunds %s', r.reversing, coalesce(f.refunded, 0))
  from (select t.order_id, sum(v.amount) as reversing from settle.transfer_reversals v
        join settle.seller_transfers t on t.id = v.seller_transfer_id
        where v.status <> 'permanently_failed' group by t.order_id) r
  left join (select order_id, sum(amount) as refunded from settle.refunds where status = 'succeeded'
             group by order_id) f on f.order_id = r.order_id
  where r.reversing > coalesce(f.refunded, 0)
  union all
  -- a transfer's status agrees with what its reversals reversed
  select 'transfer_status_matches_reversals', 'seller_transfers', t.id,
         format('status %s, reversed %s of %s', t.status, coalesce(r.reversed, 0), t.amount)
  from settle.seller_transfers t
  left join (select seller_transfer_id, sum(amount) as reversed from settle.transfer_reversals
             where status = 'reversed' group by seller_transfer_id) r on r.seller_transfer_id = t.id
  where (t.status = 'reversed' and coalesce(r.reversed, 0) <> t.amount)
     or (t.status = 'partially_reversed' and not (coalesce(r.reversed, 0) > 0 and r.reversed < t.amount))
     or (t.status not in ('reversed', 'partially_reversed') and coalesce(r.reversed, 0) > 0)
  union all
  -- PSP ids present where the status requires them
  select 'transfer_has_stripe_id', 'seller_transfers', t.id,
         format('status %s without stripe_transfer_id%s', t.status, case when t.legacy_import then ' (legacy import)' else '' end)
  from settle.seller_transfers t
  where t.status in ('completed', 'partially_reversed', 'reversed') and coalesce(t.stripe_transfer_id, '') = ''
  union all
  select 'reversal_has_stripe_id', 'transfer_reversals', v.id, 'status reversed without stripe_reversal_id'
  from settle.transfer_reversals v
  where v.status = 'reversed' and coalesce(v.stripe_reversal_id, '') = ''
  union all
  -- an active subscription has a paid invoice for its current period
  select 'active_subscription_paid', 'subscriptions', s.id,
         format('active for [%s, %s) without a paid invoice covering it', s.current_period_start, s.current_period_end)
  from settle.subscriptions s
  where s.status = 'active' and not exists (
    select 1 from settle.subscription_invoices i
    where i.subscription_id = s.id and i.status = 'paid'
      and i.period_start <= s.current_period_start and i.period_end >= s.current_period_end);
comment on view ops.money_invariants is E'One row per broken money or consistency rule (invariant, entity, entity_id, detail); empty when the books are consistent.';

grant usage on schema ops to settle_admin;
grant select on all tables in schema ops to settle_admin;
