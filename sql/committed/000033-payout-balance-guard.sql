--! Previous: sha1:ffe2bee73eb79b76f5aa769c390a566918542c90
--! Hash: sha1:6327705dcf1c8cfe7f698b2eaab7a16b8b97b5bf
--! Message: payout balance guard

/*
 * A payout never exceeds what its seller has available (SPEC §1.7: money is
 * conserved, and the database checks it). 000028 refused it only inside
 * settle_private.create_payout; a plain INSERT (an operator, a script) went
 * through. Now every insert, and every change of a pending payout's amount,
 * currency or seller, is checked against settle_private.seller_balances, which
 * already counts the new row: the payout's currency must not end below zero.
 *
 * The seller row is locked FOR NO KEY UPDATE first, the lock create_payout takes
 * (it holds it already, so for it this is free): two concurrent payouts of one
 * seller serialize, and the second reads the balance after the first committed
 * (each statement of this function takes a fresh snapshot). Only payout writers
 * take that lock (foreign-key checks take KEY SHARE, which it does not block), and
 * they take it before touching any other row of the money path, so no lock cycle
 * with transfers, reversals or refunds can form (000026).
 *
 * Immediate, not deferred: the payout is refused at the statement that makes it,
 * and the lock is taken before the payout's other triggers (debt netting) run.
 * Holds (BALHD) stay a rule of create_payout, the automated way: an operator who
 * inserts by hand is trusted with money that is located, not with more than exists.
 */
create function settle_private.tg_seller_payouts__check_balance() returns trigger
language plpgsql
as $$
declare
  left_over bigint;
begin
  perform 1 from settle.sellers where id = NEW.seller_id for no key update;
  select b.available into left_over
  from settle_private.seller_balances(NEW.seller_id) b where b.currency = NEW.currency;
  if coalesce(left_over, 0) < 0 then
    raise exception 'payout % of % % exceeds what seller % has available in %: %',
        NEW.id, NEW.amount, NEW.currency, NEW.seller_id, NEW.currency, coalesce(left_over, 0) + NEW.amount
      using errcode = 'BALEX',
            hint = 'Available = transfers made - reversals - seller debts - payouts not failed or canceled (settle_private.seller_balances).';
  end if;
  return null;
end;
$$;
comment on function settle_private.tg_seller_payouts__check_balance() is E'Refuses a payout that would take its seller''s available balance below zero, under the seller row''s lock.';

create trigger _500_check_balance after insert on settle.seller_payouts
  for each row execute function settle_private.tg_seller_payouts__check_balance();
create trigger _501_check_balance_on_update after update of amount, currency, seller_id on settle.seller_payouts
  for each row
  when (NEW.amount > OLD.amount or NEW.currency <> OLD.currency or NEW.seller_id <> OLD.seller_id)
  execute function settle_private.tg_seller_payouts__check_balance();
