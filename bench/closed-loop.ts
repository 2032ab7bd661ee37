/**
 * A closed-loop load: `clients` callers, each starting its next operation when
 * its previous one finished, until `count` operations are done. Throughput is
 * what the system sustains at that concurrency; each operation's latency is
 * recorded from its start to its end: the moment it names (Date.now() scale, e.g.
 * the commit of its last step), else the moment it resolved. With `clients` =
 * `count` it is an open burst: every operation requested at once. Elapsed time
 * runs from the first start to the last end.
 */
export interface LoopResult {
  latenciesMs: number[];
  elapsedMs: number;
}

export async function closedLoop(options: {
  clients: number;
  count: number;
  /** The n-th operation (0-based); resolves when it is complete, optionally with when. */
  operation: (n: number) => Promise<number | undefined>;
}): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  let lastEnd = 0;
  let next = 0;
  const started = Date.now();
  const client = async () => {
    for (;;) {
      const n = next++;
      if (n >= options.count) return;
      const t0 = Date.now();
      const end = (await options.operation(n)) ?? Date.now();
      latenciesMs.push(end - t0);
      lastEnd = Math.max(lastEnd, end);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.clients, options.count) }, client));
  return { latenciesMs, elapsedMs: (lastEnd || Date.now()) - started };
}
