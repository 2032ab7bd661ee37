/**
 * Who is calling: `Authorization: Bearer <JWT>`, HS256 with JWT_SECRET, claims
 * `role`, `sub`, `exp` (SPEC §6). The result becomes the Postgres role and the
 * `jwt.claims.*` settings of the request's transaction, where row-level security
 * reads them. No header means `settle_anonymous`; a header we cannot trust is an
 * error, never a silent downgrade to anonymous (a client with an expired token
 * must learn that, not see an empty list).
 */
import { errors as joseErrors, jwtVerify } from "jose";

export const ANONYMOUS_ROLE = "settle_anonymous";
export const API_ROLES = [
  "settle_platform",
  "settle_buyer",
  "settle_seller",
  "settle_admin",
] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** Roles whose rows are chosen by `sub`, so a token without one is meaningless. */
const SUBJECT_ROLES: ReadonlySet<string> = new Set(["settle_buyer", "settle_seller"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Identity =
  | { role: typeof ANONYMOUS_ROLE; sub: null }
  | { role: ApiRole; sub: string | null };

/** The stable `extensions.code` of authentication failures. */
export const UNAUTHENTICATED = "UNAUTHENTICATED";

export class AuthenticationError extends Error {
  override name = "AuthenticationError";
  readonly code = UNAUTHENTICATED;
  readonly statusCode = 401;
}

export type Authenticate = (authorization: string | undefined) => Promise<Identity>;

export function makeAuthenticate(secret: string): Authenticate {
  const key = new TextEncoder().encode(secret);
  return async (authorization) => {
    if (authorization === undefined || authorization.trim() === "") {
      return { role: ANONYMOUS_ROLE, sub: null };
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new AuthenticationError("Authorization header must be `Bearer <JWT>`");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(match[1]!, key, {
        algorithms: ["HS256"],
        requiredClaims: ["exp", "role"],
      }));
    } catch (error) {
      throw new AuthenticationError(
        error instanceof joseErrors.JWTExpired ? "JWT expired" : "JWT invalid",
      );
    }
    const { role, sub } = payload;
    if (typeof role !== "string" || !(API_ROLES as readonly string[]).includes(role)) {
      throw new AuthenticationError(`JWT role must be one of ${API_ROLES.join(", ")}`);
    }
    if (sub !== undefined && (typeof sub !== "string" || !UUID.test(sub))) {
      throw new AuthenticationError("JWT sub must be a uuid");
    }
    if (sub === undefined && SUBJECT_ROLES.has(role)) {
      throw new AuthenticationError(`JWT sub is required for role ${role}`);
    }
    return { role: role as ApiRole, sub: sub ?? null };
  };
}

/**
 * Settings applied with `set_config(..., true)` at the start of each request's
 * transaction (transaction-local, so a pooled connection carries nothing over).
 */
export function pgSettingsFor(identity: Identity): Record<string, string> {
  if (identity.role === ANONYMOUS_ROLE) return { role: ANONYMOUS_ROLE };
  return {
    role: identity.role,
    "jwt.claims.role": identity.role,
    ...(identity.sub ? { "jwt.claims.sub": identity.sub } : {}),
  };
}
