/**
 * The Stripe API version Settle speaks: the one stripe-node 23.1.0 ships with
 * (its `ApiVersion`). Pinned as a literal so that upgrading the SDK is a
 * conscious change: the service's config is typed against the SDK's
 * `LatestApiVersion`, so a new SDK with another version fails the type check
 * here instead of silently moving our wire format. The fake answers with it too.
 */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;
