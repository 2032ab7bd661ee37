/**
 * Which keyed POSTs the fake Stripe actually executed, and what each made: the
 * ground truth a chaos run checks "one call executed per idempotency key" against.
 * A replay, a 409 and a fault before commit are not executions; a request whose
 * answer was lost after commit is one (the object exists).
 */
export interface Execution {
  /** `platform` or the connected account of `Stripe-Account`. */
  scope: string;
  key: string;
  path: string;
  status: number;
  /** The `id` of the object answered, when the execution made one. */
  objectId: string | null;
}

export class ExecutionLog {
  #executions: Execution[] = [];

  record(execution: Execution): void {
    this.#executions.push(execution);
  }

  all(): Execution[] {
    return this.#executions.map((e) => ({ ...e }));
  }

  clear(): void {
    this.#executions = [];
  }
}
