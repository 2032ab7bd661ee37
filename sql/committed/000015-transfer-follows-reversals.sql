--! Previous: sha1:f5eeb5f236b879b27658b7f05ba0d40e0e745ba8
--! Hash: sha1:22fb87422819648374ff7dcefa041a9c9c6456f4
--! Message: transfer follows reversals

/*
 * A transfer's status follows its reversals: when a reversal reaches `reversed`, the
 * transfer becomes `reversed` if its reversed reversals now cover its whole amount,
 * else `partially_reversed`. The change goes through the transfer's own state
 * machine (a reversal of a transfer that was never completed is refused there).
 * ops.money_invariants reports any transfer whose status and reversals disagree.
 */
create function settle_private.tg_transfer_reversals__move_transfer() returns trigger
language plpgsql
as $$
declare
  transfer_amount bigint;
  reversed bigint;
begin
  select amount into transfer_amount
  from settle.seller_transfers where id = NEW.seller_transfer_id for no key update;
  select coalesce(sum(amount), 0) into reversed
  from settle.transfer_reversals where seller_transfer_id = NEW.seller_transfer_id and status = 'reversed';
  update settle.seller_transfers
  set status = case when reversed >= transfer_amount then 'reversed' else 'partially_reversed' end
  where id = NEW.seller_transfer_id;
  return null;
end;
$$;
create trigger _500_move_transfer after update of status on settle.transfer_reversals
  for each row
  when (NEW.status = 'reversed' and OLD.status is distinct from 'reversed')
  execute function settle_private.tg_transfer_reversals__move_transfer();
