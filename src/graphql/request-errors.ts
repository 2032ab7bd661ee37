/**
 * Stable codes for errors in the request itself, which never reach maskError:
 * grafserv answers a document that does not parse or validate with those errors
 * as they are (src/graphql/errors.ts only sees errors of execution), and grafast
 * answers variables that do not coerce (and an unknown operation name) before
 * anything runs. Their messages are GraphQL's, precise and naming the variable
 * or field, and are kept; they get
 * - `GRAPHQL_PARSE_FAILED`: the document is not GraphQL (a client bug);
 * - `VALIDATION`: it asks for what the schema does not have, or gives input of
 *   the wrong type (bad UUID or BigInt, missing required or unknown field), as a
 *   literal or as a variable.
 * The hook is grafserv's own for this (GrafservEnvelopPlugin uses it too):
 * `setPreset` may replace the validation rules and wrap getExecutionConfig.
 */
import "postgraphile";
import { isAsyncIterable, isPromiseLike } from "postgraphile/grafast";
import type { ExecutionConfig } from "postgraphile/grafserv";
import { GraphQLError, Kind, parse } from "postgraphile/graphql";
import { withNamedValueErrors } from "./input-paths.ts";

export const PARSE_FAILED = "GRAPHQL_PARSE_FAILED";
export const VALIDATION = "VALIDATION";

type ParseAndValidate = ExecutionConfig["parseAndValidate"];
type ParseAndValidateResult = ReturnType<ParseAndValidate>;
type Execute = ExecutionConfig["execute"];
type ExecuteResult = Awaited<ReturnType<Execute>>;

/** The same error with `extensions.code`; no originalError, so maskError shows it as it is. */
export function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });
}

function parses(query: string): boolean {
  try {
    parse(query);
    return true;
  } catch {
    return false;
  }
}

/**
 * grafserv caches each query's result object, so the coded copy is cached by it:
 * a query repeated with the same mistake costs one lookup.
 */
function codedParseAndValidate(original: ParseAndValidate): ParseAndValidate {
  const coded = new WeakMap<ParseAndValidateResult, ParseAndValidateResult>();
  return (query) => {
    const result = original(query);
    if (!result.errors) return result;
    let copy = coded.get(result);
    if (!copy) {
      // Parsing is re-done only here, on the error path, to tell the two apart.
      const code = parses(query) ? VALIDATION : PARSE_FAILED;
      copy = { errors: result.errors.map((error) => withCode(error, code)) };
      coded.set(result, copy);
    }
    return copy;
  };
}

/**
 * An error grafast raises before execution about the request: a variable that
 * does not coerce (graphql-js puts its definition in `nodes`, and the scalar's
 * own error, already quoted in the message, in originalError) or GraphQL's own
 * complaint (no originalError: an unknown operation name, a null for a
 * non-null argument). Anything else with no data (a planning failure) has an
 * originalError, and maskError decides what the caller sees of it.
 */
function isRequestError(error: GraphQLError): boolean {
  if (error.extensions?.code !== undefined) return false;
  if (error.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION) return true;
  return error.originalError === undefined || error.originalError === null;
}

function codeRequestErrors(result: ExecuteResult): ExecuteResult {
  // With no data, nothing ran (GraphQL spec, "Response Format"): these are request errors.
  if (isAsyncIterable(result) || result.data !== undefined || !result.errors) return result;
  const errors = result.errors.map((error) =>
    isRequestError(error) ? withCode(error, VALIDATION) : error,
  );
  // Keep grafast's prototype: it marks results grafast built itself.
  return Object.assign(Object.create(Object.getPrototypeOf(result)), result, { errors });
}

function codedExecute(original: Execute): Execute {
  return ((...args: Parameters<Execute>) => {
    const result = original(...args);
    return isPromiseLike(result) ? result.then(codeRequestErrors) : codeRequestErrors(result);
  }) as Execute;
}

export const RequestErrorsPlugin: GraphileConfig.Plugin = {
  name: "SettleRequestErrorsPlugin",
  description: "Stable extensions.code for parse, validation and variable errors",
  version: "1.0.0",
  grafserv: {
    middleware: {
      setPreset(next, event) {
        event.validationRules = withNamedValueErrors(event.validationRules);
        const getExecutionConfig = event.getExecutionConfig;
        // One wrapper per function grafserv hands out (a new one only when the schema changes).
        const parseAndValidates = new WeakMap<ParseAndValidate, ParseAndValidate>();
        const executes = new WeakMap<Execute, Execute>();
        event.getExecutionConfig = async function codedExecutionConfig(ctx) {
          const config = await getExecutionConfig.call(this, ctx);
          let parseAndValidate = parseAndValidates.get(config.parseAndValidate);
          if (!parseAndValidate) {
            parseAndValidate = codedParseAndValidate(config.parseAndValidate);
            parseAndValidates.set(config.parseAndValidate, parseAndValidate);
          }
          let execute = executes.get(config.execute);
          if (!execute) {
            execute = codedExecute(config.execute);
            executes.set(config.execute, execute);
          }
          return { ...config, parseAndValidate, execute };
        };
        return next();
      },
    },
  },
};
