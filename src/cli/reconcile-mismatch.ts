/**
 * What `settle reconcile` compares and records: one mismatch per difference
 * between a row of ours and the PSP's object, and the rules every kind of object
 * shares (amount and currency must agree; a row that holds a PSP id the PSP does
 * not know is missing there).
 */
export type MismatchKind = "missing_here" | "missing_there" | "amount_differs" | "status_differs";

export interface Mismatch {
  provider: "stripe" | "hyperswitch";
  kind: MismatchKind;
  /** Our table: seller_transfers, transfer_reversals, seller_payouts, … */
  entity: string;
  entityId: string | null;
  pspId: string | null;
  detail: string;
}

/** The outcome for one kind of object: how many each side had, and what differed. */
export interface EntityReport {
  provider: Mismatch["provider"];
  entity: string;
  ours: number;
  theirs: number;
  mismatches: Mismatch[];
  /** What was looked at but deliberately not compared, said beside the counts. */
  note?: string;
}

/** Our side of an object, as the comparisons need it. */
export interface OurRow {
  id: string;
  amount: bigint;
  currency: string;
  status: string;
  pspId: string | null;
}

/** Their side, normalised: Stripe and Hyperswitch write currencies in different cases. */
export interface TheirObject {
  id: string;
  amount: number;
  currency: string;
  /** Our row id from the object's metadata (or merchant id), when it carries one. */
  ourId: string | null;
}

/**
 * Pairs their objects with our rows: by PSP id first, then by our id in their
 * metadata for a row that lacks the PSP id (an outcome we never learned). A
 * second object claiming a row that already holds another id is missing here:
 * money moved twice for one row.
 */
export function pair<R extends OurRow, T extends TheirObject>(
  ours: readonly R[],
  theirs: readonly T[],
): { pairs: [R, T][]; unmatched: T[]; unpaired: R[] } {
  const byPspId = new Map(ours.filter((r) => r.pspId).map((r) => [r.pspId as string, r]));
  const byId = new Map(ours.map((r) => [r.id, r]));
  const taken = new Set<string>();
  const pairs: [R, T][] = [];
  const unmatched: T[] = [];
  for (const object of theirs) {
    let row = byPspId.get(object.id);
    if (!row && object.ourId !== null) {
      const candidate = byId.get(object.ourId);
      if (candidate && !candidate.pspId && !taken.has(candidate.id)) row = candidate;
    }
    if (!row) {
      unmatched.push(object);
      continue;
    }
    taken.add(row.id);
    pairs.push([row, object]);
  }
  const unpaired = ours.filter((r) => !taken.has(r.id));
  return { pairs, unmatched, unpaired };
}

/** The amount and currency check every kind shares; null when they agree. */
export function amountDiffers(row: OurRow, object: TheirObject): string | null {
  const same =
    BigInt(object.amount) === row.amount &&
    object.currency.toUpperCase() === row.currency.toUpperCase();
  return same
    ? null
    : `ours ${row.amount} ${row.currency.toUpperCase()}, theirs ${object.amount} ${object.currency.toUpperCase()}`;
}

/** A uuid-looking metadata value, or null: anything else cannot be one of our ids. */
export function ourIdFrom(value: string | null | undefined): string | null {
  return typeof value === "string" &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
    ? value.toLowerCase()
    : null;
}

const PROVIDER_NAMES: Record<Mismatch["provider"], string> = {
  stripe: "Stripe",
  hyperswitch: "Hyperswitch",
};

/** The mismatches of one entity at one provider, as they are found. */
export class Mismatches {
  readonly #list: Mismatch[] = [];
  constructor(
    readonly provider: Mismatch["provider"],
    readonly entity: string,
  ) {}

  add(kind: MismatchKind, entityId: string | null, pspId: string | null, detail: string) {
    this.#list.push({
      provider: this.provider,
      kind,
      entity: this.entity,
      entityId,
      pspId,
      detail,
    });
  }

  amount(row: OurRow, pspId: string, differs: string | null) {
    if (differs) this.add("amount_differs", row.id, pspId, differs);
  }

  missingThere(row: OurRow, what: string) {
    this.add(
      "missing_there",
      row.id,
      row.pspId,
      `ours ${row.status} with ${row.pspId}, ${PROVIDER_NAMES[this.provider]} has no such ${what}`,
    );
  }

  report(ours: number, theirs: number, note?: string): EntityReport {
    return {
      provider: this.provider,
      entity: this.entity,
      ours,
      theirs,
      mismatches: this.#list,
      ...(note ? { note } : {}),
    };
  }
}
