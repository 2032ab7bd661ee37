--! Previous: sha1:58fec23e0728c8dcb90cebd033797947b9a878ca
--! Hash: sha1:fab7c0fbca59011133ef2d068effbbe99d6278c9
--! Message: refund settled by its answer

/*
 * A refund whose POST /refunds answer already says `succeeded` (a synchronous
 * connector) is applied from that answer, by the same function the
 * refund_succeeded webhook uses: the refund succeeds, the order becomes
 * (partially_)refunded and the sellers' reversals are created (with their jobs)
 * in this transaction, instead of one webhook round trip, one stored event and
 * one job later (npm run bench: most of refund_to_reversed's time beyond the
 * PSPs). The webhook stays the source of truth for anything later: when it
 * arrives, apply_refund_succeeded finds the refund succeeded and answers
 * 'duplicate'; a webhook that came first leaves it succeeded here, which this
 * function leaves alone. Any other answer (pending, review) keeps `processing`
 * and waits for the webhook, as before; a `failed` answer never reaches here
 * (the client raises it and refund_order_fail records it).
 *
 * Locks: the order before the refund, the order every writer of both takes
 * (apply_refund_succeeded, the refund webhook), so the two cannot deadlock.
 */
create or replace function settle_api.refund_order_sent(
  p_refund_id uuid, p_hyperswitch_refund_id text, p_psp_status text, p_psp_updated_at timestamptz
) returns settle.refunds
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  f settle.refunds;
begin
  perform settle_private.require_caller('settle_platform', 'settle_admin');
  perform from settle.orders o
  where o.id = (select order_id from settle.refunds where id = p_refund_id)
  for no key update;
  select * into f from settle.refunds where id = p_refund_id for no key update;
  if not found then
    perform settle_private.invalid(format('refundId: no refund %s', p_refund_id));
  end if;
  update settle.refunds
  set hyperswitch_refund_id = coalesce(nullif(hyperswitch_refund_id, ''), p_hyperswitch_refund_id),
      psp_updated_at = greatest(psp_updated_at, p_psp_updated_at),
      last_error = null
  where id = f.id
  returning * into f;
  if p_psp_status = 'succeeded' and f.status in ('pending', 'processing') then
    perform settle_private.apply_refund_succeeded(f.id, f.hyperswitch_refund_id, f.psp_updated_at);
    select * into f from settle.refunds where id = f.id;
  elsif f.status = 'pending' then
    update settle.refunds
    set status = case when p_psp_status = 'failed' then 'failed' else 'processing' end
    where id = f.id
    returning * into f;
  end if;
  return f;
end;
$$;
