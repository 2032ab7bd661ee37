/**
 * Orders to run the flows on, made in bulk with plain SQL the way createOrder
 * makes them (pending, two sellers' items, total = Σ items), so that the
 * measured flows start from the same state as in production.
 */
import type pg from "pg";

export const SELLERS_PER_ORDER = 2;
const SELLERS = 20;

export async function seedOrders(pool: pg.Pool, count: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `with buyer as (
       insert into settle.buyers (email) values ('bench-' || gen_random_uuid() || '@example.com') returning id),
     sellers as (
       insert into settle.sellers (stripe_account_id, name)
       select 'acct_bench' || substr(md5(random()::text), 1, 16), 'Bench seller ' || n
       from generate_series(0, $2 - 1) n
       returning id),
     numbered as (select id, row_number() over () - 1 as n from sellers),
     orders as (
       insert into settle.orders (buyer_id, currency, total_amount)
       select buyer.id, 'EUR', 10000 from buyer, generate_series(1, $1)
       returning id),
     o as (select id, row_number() over () - 1 as n from orders),
     items as (
       insert into settle.order_items (order_id, seller_id, amount, platform_fee)
       select o.id, s.id, 5000, 500
       from o join numbered s on s.n in (o.n % $2, (o.n + 1) % $2)
       returning order_id)
     select o.id from o order by o.n`,
    [count, SELLERS],
  );
  return rows.map((r) => r.id);
}
