/**
 * Stripe's cursor pagination over a newest-first list: `starting_after` pages
 * towards older objects, `ending_before` towards newer ones (the page just
 * before the cursor, still newest first); `has_more` tells whether that
 * direction goes on. An unknown cursor is a 404 naming the cursor parameter.
 */
import { noSuch } from "./wire.ts";

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

export interface PageRequest {
  limit: number;
  startingAfter: string | null;
  endingBefore: string | null;
}

export function paginate<T extends { id: string }>(
  items: T[],
  { limit, startingAfter, endingBefore }: PageRequest,
  what: string,
): Page<T> {
  if (endingBefore !== null) {
    const end = items.findIndex((i) => i.id === endingBefore);
    if (end < 0) throw noSuch(what, endingBefore, "ending_before");
    const start = Math.max(0, end - limit);
    return { data: items.slice(start, end), hasMore: start > 0 };
  }
  let start = 0;
  if (startingAfter !== null) {
    const at = items.findIndex((i) => i.id === startingAfter);
    if (at < 0) throw noSuch(what, startingAfter, "starting_after");
    start = at + 1;
  }
  return { data: items.slice(start, start + limit), hasMore: start + limit < items.length };
}
