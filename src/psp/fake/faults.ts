/**
 * Fault injection for the fake PSPs: what the real providers and the network do to
 * us on a bad day, on demand. A rule matches requests by method and path and
 * fires a number of times (or with a probability, for chaos runs).
 *
 * "Before" faults leave the fake's state untouched (nothing was done); "afterCommit"
 * faults let the request take effect, then lose or replace the answer: the
 * "unknown outcome" that the clients must resolve by looking the object up.
 */
import { z } from "zod";

export const FaultSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("status"),
    status: z.number().int().min(100).max(599),
    /** JSON body (object) or raw text. (Default: the provider's generic error for the status) */
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    afterCommit: z.boolean().default(false),
  }),
  z.object({ kind: z.literal("latency"), ms: z.number().int().min(0).max(600_000) }),
  /** No answer at all: the client's own timeout ends the call. */
  z.object({ kind: z.literal("timeout"), afterCommit: z.boolean().default(false) }),
  /** The connection is destroyed without an answer. */
  z.object({ kind: z.literal("drop"), afterCommit: z.boolean().default(false) }),
]);
export type Fault = z.infer<typeof FaultSchema>;

export const FaultRuleSchema = z.object({
  /** HTTP method to match. (Default: any) */
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .optional(),
  /** Regular expression matched against the whole path, e.g. `/v1/transfers/[^/]+/reversals`. (Default: any) */
  path: z.string().optional(),
  /** How many matching requests it fires on; null = every one. (Default: 1) */
  times: z.number().int().positive().nullable().default(1),
  /** Fire on a matching request with this probability, for chaos runs. (Default: 1) */
  probability: z.number().min(0).max(1).default(1),
  fault: FaultSchema,
});
export type FaultRuleInput = z.input<typeof FaultRuleSchema>;
type FaultRule = z.infer<typeof FaultRuleSchema> & { pathRe: RegExp | null; fired: number };

export class FaultInjector {
  #rules: FaultRule[] = [];
  #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  add(input: FaultRuleInput): void {
    const rule = FaultRuleSchema.parse(input);
    this.#rules.push({
      ...rule,
      pathRe: rule.path ? new RegExp(`^${rule.path}$`) : null,
      fired: 0,
    });
  }

  clear(): void {
    this.#rules = [];
  }

  /** The fault for this request, if a rule fires; spent rules are dropped. */
  take(method: string, path: string): Fault | null {
    for (const rule of this.#rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.pathRe && !rule.pathRe.test(path)) continue;
      if (rule.probability < 1 && this.#random() >= rule.probability) continue;
      rule.fired++;
      if (rule.times !== null && rule.fired >= rule.times) {
        this.#rules = this.#rules.filter((r) => r !== rule);
      }
      return rule.fault;
    }
    return null;
  }

  pending(): Array<Omit<FaultRule, "pathRe">> {
    return this.#rules.map(({ pathRe: _pathRe, ...rule }) => rule);
  }
}
