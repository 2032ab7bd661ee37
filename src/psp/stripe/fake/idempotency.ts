/**
 * Stripe's idempotency layer, per (account, key) — a `Stripe-Account` request
 * has its own key space:
 *   - same key, same endpoint and parameters → the saved response, replayed
 *     (a saved 5xx included) with `Idempotent-Replayed: true`;
 *   - same key, anything else → 400 `idempotency_error`;
 *   - same key while the first request is still executing → 409
 *     `idempotency_key_in_use`, nothing saved, retry later;
 *   - keys older than 24 h (on the fake's clock) are forgotten: the same key
 *     then runs as a new request.
 */
import type { FakeResponse } from "../../fake/server.ts";

export const KEY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SavedResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** The request id of the first request, sent back as `Original-Request`. */
  requestId: string;
}

type Entry =
  | { state: "running"; fingerprint: string; startedAt: number }
  | { state: "saved"; fingerprint: string; startedAt: number; response: SavedResponse };

export type Admission =
  | { kind: "run" }
  | { kind: "replay"; response: SavedResponse }
  | { kind: "mismatch" }
  | { kind: "in_use" };

export class IdempotencyStore {
  #entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  /** Decides what a keyed request gets; `run` reserves the key until `finish`. */
  admit(scope: string, key: string, fingerprint: string): Admission {
    const id = `${scope}\u0000${key}`;
    const entry = this.#entries.get(id);
    if (entry && this.now() - entry.startedAt >= KEY_TTL_MS) this.#entries.delete(id);
    const live = this.#entries.get(id);
    if (!live) {
      this.#entries.set(id, { state: "running", fingerprint, startedAt: this.now() });
      return { kind: "run" };
    }
    if (live.state === "running") return { kind: "in_use" };
    if (live.fingerprint !== fingerprint) return { kind: "mismatch" };
    return { kind: "replay", response: live.response };
  }

  /** Saves the key's result, or (null) releases the key with nothing saved. */
  finish(scope: string, key: string, response: SavedResponse | null): void {
    const id = `${scope}\u0000${key}`;
    const entry = this.#entries.get(id);
    if (entry?.state !== "running") return;
    if (response === null) this.#entries.delete(id);
    else this.#entries.set(id, { ...entry, state: "saved", response });
  }

  clear(): void {
    this.#entries.clear();
  }
}

export function replayed(saved: SavedResponse): FakeResponse {
  return {
    status: saved.status,
    body: saved.body,
    headers: {
      ...saved.headers,
      "Idempotent-Replayed": "true",
      "Original-Request": saved.requestId,
    },
  };
}
