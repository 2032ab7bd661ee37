--! Previous: sha1:400f12d20f82b733e884978881e5a1809ac5f438
--! Hash: sha1:67bda1a5c95f6b0fdbe809787ea088da1e02a881
--! Message: stripe rate limit

/*
 * One request budget per PSP, shared by every worker process: STRIPE_MAX_REQUESTS_
 * PER_SECOND holds for the fleet, not per process. A generic cell rate algorithm on
 * one row: each caller takes the next free slot (at most `burst` slots ahead of
 * now may be banked while idle) and sleeps until it. One short UPDATE per PSP call;
 * the row lock serialises the callers for microseconds, not for the call.
 */
create table settle_private.rate_limits (
  name text primary key,
  next_slot_at timestamptz not null default now()
);

create function settle_private.take_rate_slot(p_name text, p_per_second double precision, p_burst integer default 1)
returns double precision
language plpgsql volatile
as $$
declare
  slot timestamptz;
  step interval := make_interval(secs => 1.0 / p_per_second);
begin
  insert into settle_private.rate_limits as r (name, next_slot_at)
  values (p_name, clock_timestamp() + step)
  on conflict (name) do update
    set next_slot_at = greatest(r.next_slot_at, clock_timestamp() - step * (p_burst - 1)) + step
  returning r.next_slot_at - step into slot;
  -- Seconds the caller waits before its request may go out (0: now).
  return greatest(extract(epoch from slot - clock_timestamp()), 0);
end;
$$;
comment on function settle_private.take_rate_slot(text, double precision, integer) is E'Reserves the next request slot of a shared rate budget; returns the seconds to wait before sending.';
