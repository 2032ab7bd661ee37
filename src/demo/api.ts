/**
 * The demo's client of the public API: GraphQL over HTTP with HS256 bearer tokens,
 * as a marketplace front end would call it.
 */
import { SignJWT } from "jose";

export interface Caller {
  role: "settle_platform" | "settle_buyer" | "settle_seller" | "settle_admin";
  sub?: string;
}

export class ApiError extends Error {
  override name = "ApiError";
}

export interface Api {
  /** Runs one operation as `caller`; returns `data[field]`, or throws with the errors. */
  call<T>(caller: Caller, field: string, query: string, variables?: object): Promise<T>;
}

export function makeApi(baseUrl: string, jwtSecret: string): Api {
  const key = new TextEncoder().encode(jwtSecret);
  const token = (caller: Caller) =>
    new SignJWT({ ...caller })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
  return {
    async call<T>(caller: Caller, field: string, query: string, variables?: object) {
      const response = await fetch(`${baseUrl}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          authorization: `Bearer ${await token(caller)}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as {
        data?: Record<string, unknown> | null;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const value = body.data?.[field];
      if (body.errors?.length || value === undefined || value === null) {
        const errors = (body.errors ?? [])
          .map((error) => `${error.extensions?.code ?? "ERROR"}: ${error.message}`)
          .join("; ");
        throw new ApiError(`${field} failed (HTTP ${response.status}): ${errors || "no data"}`);
      }
      return value as T;
    },
  };
}
