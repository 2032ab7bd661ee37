/**
 * Bounded waiting: every step of the demo either completes within its time or
 * stops the demo with what it was waiting for and what it saw instead.
 */
export class DemoTimeout extends Error {
  override name = "DemoTimeout";
}

/**
 * Polls `probe` until it returns something truthy. On time-out the error names
 * `what` and, when given, `seen()`: the state that did not get there.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 100, seen }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      const state = seen ? `; found ${await seen()}` : "";
      throw new DemoTimeout(`${what} did not happen within ${timeoutMs / 1000} s${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Describes the current state for the time-out message. */
  seen?: () => Promise<string>;
}
