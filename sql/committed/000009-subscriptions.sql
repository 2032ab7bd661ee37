--! Previous: sha1:4ee3bb0fecaaad601bfc357c368baf2dc53a403f
--! Hash: sha1:2d81d39f3ba9e69444ded2b67957eaa6e4f2f5aa
--! Message: subscriptions

/*
 * Subscriptions: a buyer on a plan, charged each period through Hyperswitch. Each
 * period has one invoice row, charged with payment_id = subscription_invoices.id.
 * The rule that an active subscription has a paid invoice for its current period
 * lives in the subscription-gate migration.
 */
create table settle.plans (
  id uuid primary key default gen_random_uuid(),
  name text not null constraint plans_name_not_blank check (btrim(name) <> '' and length(name) <= 200),
  amount bigint not null constraint plans_amount_positive check (amount > 0),
  currency char(3) not null constraint plans_currency_format check (currency ~ '^[A-Z]{3}$'),
  interval text not null constraint plans_interval_valid check (interval in ('day', 'week', 'month', 'year')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table settle.plans is E'What a subscription costs per interval.';
create trigger _100_touch_updated_at before update on settle.plans
  for each row execute function settle_private.tg__touch_updated_at();

create table settle.subscriptions (
  id uuid primary key default gen_random_uuid(),
  buyer_id uuid not null references settle.buyers (id) on delete restrict,
  plan_id uuid not null references settle.plans (id) on delete restrict,
  status text not null default 'incomplete'
    constraint subscriptions_status_valid check (status in (
      'incomplete', 'incomplete_expired', 'active', 'past_due', 'canceled')),
  current_period_start timestamptz not null,
  current_period_end timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint subscriptions_period_ordered check (current_period_end > current_period_start)
);
comment on table settle.subscriptions is E'A buyer subscribed to a plan. Active only while the invoice of its current period is paid (checked at commit).';
create index subscriptions_buyer_id_idx on settle.subscriptions (buyer_id);
create index subscriptions_plan_id_idx on settle.subscriptions (plan_id);
create trigger _100_touch_updated_at before update on settle.subscriptions
  for each row execute function settle_private.tg__touch_updated_at();

create table settle.subscription_invoices (
  id uuid primary key default gen_random_uuid(),
  subscription_id uuid not null references settle.subscriptions (id) on delete restrict,
  amount bigint not null constraint subscription_invoices_amount_positive check (amount > 0),
  currency char(3) not null constraint subscription_invoices_currency_format check (currency ~ '^[A-Z]{3}$'),
  period_start timestamptz not null,
  period_end timestamptz not null,
  status text not null default 'pending'
    constraint subscription_invoices_status_valid check (status in ('pending', 'paid', 'failed', 'uncollectible')),
  psp_payment_id text,
  attempt_count integer not null default 0 constraint subscription_invoices_attempt_count_nonnegative check (attempt_count >= 0),
  next_attempt_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint subscription_invoices_period_ordered check (period_end > period_start)
);
comment on table settle.subscription_invoices is E'One period of a subscription, charged through Hyperswitch (payment_id = id).';
create index subscription_invoices_subscription_id_idx on settle.subscription_invoices (subscription_id, period_start);
create index subscription_invoices_due_idx on settle.subscription_invoices (next_attempt_at)
  where status in ('pending', 'failed');
create unique index subscription_invoices_psp_payment_id_key on settle.subscription_invoices (psp_payment_id)
  where psp_payment_id is not null and psp_payment_id <> '';
-- A period is charged once.
create unique index subscription_invoices_one_per_period on settle.subscription_invoices (subscription_id, period_start);
create trigger _100_touch_updated_at before update on settle.subscription_invoices
  for each row execute function settle_private.tg__touch_updated_at();
