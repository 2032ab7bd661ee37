--! Previous: sha1:b3f446a84bd2d185b4debb1bac05ec14394cf04a
--! Hash: sha1:10139c11f29ecf23240eaed484d3227e21d226bb
--! Message: legacy transfers awaiting their Stripe id are not broken invariants

/*
 * ops.money_invariants reported a legacy import without its Stripe id as a broken
 * rule ("PSP ids present where a status requires them"). SPEC §4 exempts exactly
 * those rows: a legacy transfer may be completed without its id, which the
 * backfill fills later. They are data awaiting a repair, not inconsistent books,
 * and they are listed where the backfill's operator looks
 * (ops.transfers_missing_stripe_id). Reporting them made `settle status` exit 3 on
 * every database migrated from an older system until the backfill had run. The
 * view is otherwise unchanged; a transfer made by Settle without its id is still
 * reported.
 */
create or replace view ops.money_invariants as
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
  -- (a legacy import's status requires none: ops.transfers_missing_stripe_id lists it for the backfill)
  select 'transfer_has_stripe_id', 'seller_transfers', t.id,
         format('status %s without stripe_transfer_id', t.status)
  from settle.seller_transfers t
  where t.status in ('completed', 'partially_reversed', 'reversed') and coalesce(t.stripe_transfer_id, '') = ''
    and not t.legacy_import
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
