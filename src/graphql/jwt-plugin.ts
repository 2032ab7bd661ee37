/**
 * Rejects a request whose Authorization header cannot be trusted before any
 * GraphQL runs, with HTTP 401 and a GraphQL-shaped body, so clients and proxies
 * see the failure as what it is. (The grafast context callback would be too late
 * to choose the status code: errors there become a 500 or a masked error.)
 */
import "postgraphile";
import type { Result } from "postgraphile/grafserv";
import { type Authenticate, AuthenticationError } from "./auth.ts";

export function makeJwtPlugin(authenticate: Authenticate): GraphileConfig.Plugin {
  return {
    name: "SettleJwtPlugin",
    description:
      "Answers 401 UNAUTHENTICATED to requests with an invalid, expired or unknown-role JWT",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next, event): Promise<Result | null> {
          try {
            await authenticate(event.requestDigest.headers.authorization);
          } catch (error) {
            if (error instanceof AuthenticationError) return unauthenticated(error);
            throw error;
          }
          return next();
        },
      },
    },
  };
}

function unauthenticated(error: AuthenticationError): Result {
  return {
    type: "json",
    statusCode: error.statusCode,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "WWW-Authenticate": 'Bearer error="invalid_token"',
    },
    json: { errors: [{ message: error.message, extensions: { code: error.code } }] },
  };
}
