/**
 * The run's choices, all drawn from one seeded source so that `--seed N` replays
 * them (timing still differs between runs: processes and the network decide
 * interleavings, so a seed repeats the plan, not every instant).
 */
import { seededRandom } from "../psp/fake/seeded-random.ts";

export interface Dice {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(list: readonly T[]): T;
  /** k distinct elements. */
  sample<T>(list: readonly T[], k: number): T[];
  /** A new, independent source derived from this one (one per concurrent actor). */
  fork(): Dice;
}

export function dice(seed: number): Dice {
  const next = seededRandom(seed);
  const self: Dice = {
    next,
    chance: (p) => next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)]!,
    sample(list, k) {
      const copy = [...list];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy.slice(0, k);
    },
    fork: () => dice(Math.floor(next() * 0xffffffff)),
  };
  return self;
}
