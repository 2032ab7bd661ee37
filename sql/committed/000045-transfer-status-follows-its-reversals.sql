--! Previous: sha1:10139c11f29ecf23240eaed484d3227e21d226bb
--! Hash: sha1:43d715afe6a9924e7cf67370fc82a797e0b96a4e
--! Message: a transfer's reversed statuses follow its reversals

/*
 * SPEC §4: "The transfer's status follows its reversals." The reversal trigger
 * (000015) moves a transfer to partially_reversed or reversed when a reversal of
 * it is reversed, and ops.money_invariants reports a transfer whose status and
 * reversals disagree; but a plain UPDATE could still set `completed -> reversed`
 * on a transfer nothing was taken back from, and the books would say the seller
 * returned money it still holds. The database now refuses that: a transfer may be
 * `reversed` only when its reversed reversals cover its amount, and
 * `partially_reversed` only when they cover part of it. The error is the state
 * machine's (ILTRN, naming entity, id, from and to). Legacy imports are exempt:
 * their history happened elsewhere and has no reversal rows here (§4).
 *
 * Concurrent reversals of one transfer stay consistent: the reversal trigger holds
 * the transfer's row while it sums, and each statement here sees what the ones
 * before it committed.
 */
create function settle_private.tg_seller_transfers__follow_reversals() returns trigger
language plpgsql
as $$
declare
  reversed bigint;
begin
  select coalesce(sum(amount), 0) into reversed
  from settle.transfer_reversals
  where seller_transfer_id = NEW.id and status = 'reversed';
  if (NEW.status = 'reversed' and reversed < NEW.amount)
     or (NEW.status = 'partially_reversed' and not (reversed > 0 and reversed < NEW.amount)) then
    raise exception 'illegal transition of seller_transfers %: % -> %: its reversed reversals cover % of %',
        NEW.id, OLD.status, NEW.status, reversed, NEW.amount
      using errcode = 'ILTRN',
            hint = 'a transfer becomes partially_reversed or reversed when reversals of it are reversed (transfer_reversals)';
  end if;
  return NEW;
end;
$$;
create trigger _110_follow_reversals before update of status on settle.seller_transfers
  for each row
  when (NEW.status in ('partially_reversed', 'reversed') and not NEW.legacy_import)
  execute function settle_private.tg_seller_transfers__follow_reversals();
