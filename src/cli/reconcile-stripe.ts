/**
 * The Stripe half of `settle reconcile`: seller transfers, their reversals and
 * seller payouts against Stripe's lists since a moment.
 *
 * Windows: Stripe's lists are asked for objects created since then; ours are the
 * rows created since then plus any row those objects name (by id or metadata), so
 * a row created just before the moment is still found for an object just after.
 * A row of ours holding a Stripe id that the list did not serve (an object older
 * than the window, as a legacy import's is) is looked up on its own before it is
 * called missing there.
 *
 * A transfer row recorded as made without its Stripe id (a legacy import awaiting
 * `backfill-transfer-ids`, listed by ops.transfers_missing_stripe_id) is paired by
 * our id in the transfer's metadata (`seller_transfer_id`) when the transfer has
 * it, else as the backfill would: the one row of that order (`transfer_group`, or
 * metadata `order_id`) and that seller (`destination`) that lacks an id. Without
 * this, every such transfer would be reported missing here although its row is
 * here; pairing it also compares its amount and status. Several candidates stay
 * unpaired and are said to be ambiguous. The id itself is left to the backfill:
 * reconcile writes nothing to money rows.
 *
 * Every Stripe request takes its slot of the fleet-wide budget first (`take`).
 */
import type Stripe from "stripe";
import { z } from "zod";
import { type DatabasePool, sql } from "../db/slonik.ts";
import { PspError } from "../psp/errors.ts";
import type { StripeService } from "../psp/stripe/service.ts";
import {
  amountDiffers,
  type EntityReport,
  Mismatches,
  type OurRow,
  ourIdFrom,
  pair,
  type TheirObject,
} from "./reconcile-mismatch.ts";

/** StripeService lists ask for pages of this size: one request per page. */
const STRIPE_PAGE = 100;

export interface StripeReconcileDeps {
  db: DatabasePool;
  stripe: StripeService;
  /** Takes one slot of the shared Stripe rate budget. */
  take: () => Promise<void>;
  since: Date;
}

const Row = z.object({
  id: z.string(),
  amount: z.bigint(),
  currency: z.string(),
  status: z.string(),
  psp_id: z.string().nullable(),
  /** The reversal's transfer id, or the payout's connected account. */
  parent: z.string().nullable(),
  /** Transfers: "<order id> <seller's account>", how a row lacking its Stripe id is found. */
  group_key: z.string().nullable().optional(),
});
type Row = OurRow & { parent: string | null; groupKey?: string | null };

export async function reconcileStripe(deps: StripeReconcileDeps): Promise<EntityReport[]> {
  const created = { gte: Math.floor(deps.since.getTime() / 1000) };
  const transfers = await paced(deps.stripe.listAllTransfers({ created }), deps.take);
  return [
    await reconcileTransfers(deps, transfers),
    await reconcileReversals(deps, transfers),
    await reconcilePayouts(deps, created),
  ];
}

/** The order a transfer names: its transfer_group, else its metadata order_id (our uuids only). */
function orderOf(transfer: Stripe.Transfer): string | null {
  return ourIdFrom(transfer.transfer_group) ?? ourIdFrom(transfer.metadata?.order_id);
}

/** Walks a lazily paged list, taking a slot before each request the walk may make. */
async function paced<T>(items: AsyncIterable<T>, take: () => Promise<void>): Promise<T[]> {
  const out: T[] = [];
  const pages = items[Symbol.asyncIterator]();
  for (let seen = 0; ; seen++) {
    if (seen % STRIPE_PAGE === 0) await take();
    const next = await pages.next();
    if (next.done) return out;
    out.push(next.value);
  }
}

/** Stripe's transfer in our status words. */
function transferState(transfer: Stripe.Transfer): string {
  if (transfer.reversed) return "reversed";
  return transfer.amount_reversed > 0 ? "partially_reversed" : "completed";
}

async function reconcileTransfers(
  deps: StripeReconcileDeps,
  transfers: Stripe.Transfer[],
): Promise<EntityReport> {
  const theirs = transfers.map((t) => ({
    id: t.id,
    amount: t.amount,
    currency: t.currency,
    ourId: ourIdFrom(t.metadata?.seller_transfer_id),
    transfer: t,
  }));
  const groups = transfers.flatMap((t) => {
    const group = orderOf(t);
    return group ? [group] : [];
  });
  const ours = await ourRows(
    deps,
    theirs,
    (ids, ourIds) => sql.fragment`
    select t.id, t.amount, t.currency::text as currency, t.status,
           nullif(t.stripe_transfer_id, '') as psp_id, null::text as parent,
           t.order_id::text || ' ' || s.stripe_account_id as group_key
    from settle.seller_transfers t join settle.sellers s on s.id = t.seller_id
    where t.created_at >= ${deps.since.toISOString()}::timestamptz
       or t.stripe_transfer_id = any(${sql.array(ids, "text")})
       or t.id::text = any(${sql.array(ourIds, "text")})
       or (coalesce(t.stripe_transfer_id, '') = '' and t.order_id::text = any(${sql.array(groups, "text")}))`,
  );
  const out = new Mismatches("stripe", "seller_transfers");
  const paired = pair(ours, theirs);
  const { pairs, unpaired } = paired;
  const unmatched: typeof paired.unmatched = [];
  // Rows lacking their Stripe id, by order and seller: the backfill's match.
  const lacking = new Map<string, Row[]>();
  for (const row of unpaired) {
    if (row.pspId || !row.groupKey) continue;
    lacking.set(row.groupKey, [...(lacking.get(row.groupKey) ?? []), row]);
  }
  const ambiguous = new Map<string, number>();
  for (const object of paired.unmatched) {
    const key = `${orderOf(object.transfer)} ${object.transfer.destination}`;
    const candidates = lacking.get(key) ?? [];
    const row = candidates.length === 1 ? candidates[0] : undefined;
    if (row) {
      lacking.delete(key);
      unpaired.splice(unpaired.indexOf(row), 1);
      pairs.push([row, object]);
    } else {
      if (candidates.length > 1) ambiguous.set(object.id, candidates.length);
      unmatched.push(object);
    }
  }
  const compare = (row: Row, transfer: Stripe.Transfer) => {
    out.amount(row, transfer.id, amountDiffers(row, { ...transfer, ourId: null }));
    const state = transferState(transfer);
    if (row.status !== state) {
      out.add("status_differs", row.id, transfer.id, `ours ${row.status}, Stripe ${state}`);
    }
  };
  for (const [row, object] of pairs) compare(row, object.transfer);
  for (const object of unmatched) {
    out.add(
      "missing_here",
      null,
      object.id,
      `Stripe transfer of ${object.amount} ${object.currency.toUpperCase()} to ${object.transfer.destination} (group ${object.transfer.transfer_group ?? "none"}) has no row here` +
        (ambiguous.has(object.id)
          ? ` of its own: ${ambiguous.get(object.id)} rows of that order and seller lack their Stripe id, so it is ambiguous (see backfill-transfer-ids)`
          : ""),
    );
  }
  for (const row of unpaired) {
    if (!row.pspId) continue; // not made, or a legacy row awaiting the backfill
    await deps.take();
    const transfer = await deps.stripe.findTransferById(row.pspId);
    if (transfer) compare(row, transfer);
    else out.missingThere(row, "transfer");
  }
  return out.report(ours.length, theirs.length);
}

async function reconcileReversals(
  deps: StripeReconcileDeps,
  transfers: Stripe.Transfer[],
): Promise<EntityReport> {
  // Every reversal of the listed transfers, whenever made: a row's reversal older
  // than the window is then found without asking again.
  const known = new Map<string, Stripe.TransferReversal[]>();
  for (const transfer of transfers) known.set(transfer.id, await reversalsOf(deps, transfer));
  // Whole seconds, as Stripe's `created` and the list's `created.gte`: a reversal made
  // in the same second as the moment is in the window, as its transfer is.
  const since = Math.floor(deps.since.getTime() / 1000);
  const theirs = [...known.values()]
    .flat()
    .filter((r) => r.created >= since)
    .map((r) => ({
      id: r.id,
      amount: r.amount,
      currency: r.currency,
      ourId: ourIdFrom(r.metadata?.transfer_reversal_id),
      reversal: r,
    }));
  const ours = await ourRows(
    deps,
    theirs,
    (ids, ourIds) => sql.fragment`
    select r.id, r.amount, t.currency::text as currency, r.status,
           nullif(r.stripe_reversal_id, '') as psp_id, nullif(t.stripe_transfer_id, '') as parent
    from settle.transfer_reversals r join settle.seller_transfers t on t.id = r.seller_transfer_id
    where r.created_at >= ${deps.since.toISOString()}::timestamptz
       or r.stripe_reversal_id = any(${sql.array(ids, "text")})
       or r.id::text = any(${sql.array(ourIds, "text")})`,
  );
  const out = new Mismatches("stripe", "transfer_reversals");
  const { pairs, unmatched, unpaired } = pair(ours, theirs);
  const compare = (row: Row, reversal: Stripe.TransferReversal) => {
    out.amount(row, reversal.id, amountDiffers(row, { ...reversal, ourId: null }));
    if (row.status !== "reversed") {
      out.add("status_differs", row.id, reversal.id, `ours ${row.status}, Stripe reversed`);
    }
  };
  for (const [row, object] of pairs) compare(row, object.reversal);
  for (const object of unmatched) {
    out.add(
      "missing_here",
      null,
      object.id,
      `Stripe reversal of ${object.amount} ${object.currency.toUpperCase()} of transfer ${object.reversal.transfer} has no row here`,
    );
  }
  for (const row of unpaired) {
    if (!row.pspId) continue; // not made yet, or given up: nothing at Stripe expected
    const parent = row.parent ?? "";
    if (!known.has(parent)) known.set(parent, parent ? await reversalsById(deps, parent) : []);
    const reversal = known.get(parent)?.find((r) => r.id === row.pspId);
    if (reversal) compare(row, reversal);
    else out.missingThere(row, "reversal");
  }
  return out.report(ours.length, theirs.length);
}

/** A listed transfer carries its 10 newest reversals; more are listed on their own. */
async function reversalsOf(
  deps: StripeReconcileDeps,
  transfer: Stripe.Transfer,
): Promise<Stripe.TransferReversal[]> {
  return transfer.reversals.has_more
    ? paced(deps.stripe.listReversals(transfer.id), deps.take)
    : transfer.reversals.data;
}

/** The reversals of a transfer outside the window; none when Stripe has no such transfer. */
async function reversalsById(
  deps: StripeReconcileDeps,
  transferId: string,
): Promise<Stripe.TransferReversal[]> {
  try {
    return await paced(deps.stripe.listReversals(transferId), deps.take);
  } catch (error) {
    if (error instanceof PspError && error.httpStatus === 404) return [];
    throw error;
  }
}

async function reconcilePayouts(
  deps: StripeReconcileDeps,
  created: Stripe.RangeQueryParam,
): Promise<EntityReport> {
  // Payouts live on the connected accounts: one list per seller, every seller,
  // since a payout we never recorded may be on any of them.
  const accounts = await deps.db.anyFirst(sql.type(z.object({ account: z.string() }))`
    select distinct stripe_account_id as account from settle.sellers order by 1`);
  const theirs: (TheirObject & { payout: Stripe.Payout; account: string })[] = [];
  for (const account of accounts) {
    for (const payout of await paced(deps.stripe.listPayouts(account, { created }), deps.take)) {
      theirs.push({
        id: payout.id,
        amount: payout.amount,
        currency: payout.currency,
        ourId: ourIdFrom(payout.metadata?.seller_payout_id),
        payout,
        account,
      });
    }
  }
  const ours = await ourRows(
    deps,
    theirs,
    (ids, ourIds) => sql.fragment`
    select p.id, p.amount, p.currency::text as currency, p.status,
           nullif(p.external_payout_id, '') as psp_id, s.stripe_account_id as parent
    from settle.seller_payouts p join settle.sellers s on s.id = p.seller_id
    where p.created_at >= ${deps.since.toISOString()}::timestamptz
       or p.external_payout_id = any(${sql.array(ids, "text")})
       or p.id::text = any(${sql.array(ourIds, "text")})`,
  );
  const out = new Mismatches("stripe", "seller_payouts");
  const { pairs, unmatched, unpaired } = pair(ours, theirs);
  const compare = (row: Row, payout: Stripe.Payout) => {
    out.amount(row, payout.id, amountDiffers(row, { ...payout, ourId: null }));
    // Our statuses are Stripe's words; a row without the id has not learned it was made.
    if (row.status !== payout.status || !row.pspId) {
      const ours = row.pspId ? row.status : `${row.status} without the payout id`;
      out.add("status_differs", row.id, payout.id, `ours ${ours}, Stripe ${payout.status}`);
    }
  };
  for (const [row, object] of pairs) compare(row, object.payout);
  for (const object of unmatched) {
    out.add(
      "missing_here",
      null,
      object.id,
      `Stripe payout of ${object.amount} ${object.currency.toUpperCase()} on ${object.account} has no row here`,
    );
  }
  for (const row of unpaired) {
    if (!row.pspId || !row.parent) continue; // not sent: nothing at Stripe expected
    await deps.take();
    const payout = await deps.stripe.findPayout(row.parent, row.pspId);
    if (payout) compare(row, payout);
    else out.missingThere(row, "payout");
  }
  return out.report(ours.length, theirs.length);
}

/** Our rows in the window, plus those the PSP's objects name by id or metadata. */
async function ourRows(
  deps: StripeReconcileDeps,
  theirs: readonly TheirObject[],
  query: (ids: string[], ourIds: string[]) => ReturnType<typeof sql.fragment>,
): Promise<Row[]> {
  const ids = theirs.map((t) => t.id);
  const ourIds = theirs.flatMap((t) => (t.ourId ? [t.ourId] : []));
  const rows = await deps.db.any(sql.type(Row)`${query(ids, ourIds)}`);
  return rows.map((r) => ({ ...r, pspId: r.psp_id, groupKey: r.group_key ?? null }));
}
