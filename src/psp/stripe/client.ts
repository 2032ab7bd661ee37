/**
 * The stripe-node client Settle uses, configured in one place: where it sends
 * requests, the pinned API version, the timeout, and no SDK retries.
 */
import Stripe from "stripe";
import type { InjectionToken } from "tsyringe";
import type { Logger } from "../../log.ts";
import { STRIPE_API_VERSION } from "./api-version.ts";

export interface StripeServiceOptions {
  /** `sk_…` */
  secretKey: string;
  /** e.g. https://api.stripe.com, or http://127.0.0.1:12111 for a fake; no path. */
  apiBase: string;
  /**
   * Per request, as stripe-node applies it (the socket's idle time): a call left
   * without an answer this long fails with an unknown outcome.
   */
  timeoutMs: number;
  logger: Logger;
}

export const StripeServiceOptionsToken: InjectionToken<StripeServiceOptions> =
  Symbol("StripeServiceOptions");

export function createStripeClient(options: StripeServiceOptions): Stripe {
  if (typeof options.secretKey !== "string" || options.secretKey.trim() === "") {
    throw new TypeError("Stripe: a secret key is required");
  }
  if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new TypeError(`Stripe: timeoutMs must be a positive integer, got ${options.timeoutMs}`);
  }
  return new Stripe(options.secretKey, {
    ...endpoint(options.apiBase),
    apiVersion: STRIPE_API_VERSION,
    timeout: options.timeoutMs,
    // 0: our jobs own retries. They retry with their own backoff (SPEC §3), and
    // after an unknown outcome they must look the object up before re-POSTing
    // (SPEC §1.2); SDK retries would re-POST blindly within one job attempt and
    // hide from the job how many attempts were made. We always pass our own
    // idempotency key (stripe-node 23 invents a `stripe-node-retry-…` key only
    // when we pass none), so the one retry stripe-node still makes on its own,
    // after a connection closed with ECONNRESET/EPIPE, reuses our key and can
    // at worst replay the first request's saved result.
    maxNetworkRetries: 0,
    appInfo: { name: "settle" },
  });
}

/** stripe-node takes host, port and protocol separately; we configure one base URL. */
function endpoint(apiBase: string): { host: string; port: number; protocol: "http" | "https" } {
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new TypeError(`Stripe: apiBase is not a URL: ${JSON.stringify(apiBase)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Stripe: apiBase must be http(s), got ${url.protocol}`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new TypeError(`Stripe: apiBase must be a bare origin, got ${JSON.stringify(apiBase)}`);
  }
  const protocol = url.protocol === "https:" ? "https" : "http";
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : protocol === "https" ? 443 : 80,
    protocol,
  };
}
