/**
 * The errors a flow shows its API caller: stable `extensions.code`, the PSP's own
 * code when a PSP said no, nothing internal. (SafeError passes the GraphQL mask.)
 */
import { SafeError } from "postgraphile/grafast";
import type { PspError } from "../psp/errors.ts";

/** The PSP refused: a decline or a permanent error. The row recording it is failed. */
export function pspDeclined(what: string, error: PspError): SafeError {
  return new SafeError(
    `${what} was refused by ${error.provider}: ${error.code ?? "error"} ${error.message}`,
    {
      code: "PSP_DECLINED",
      pspCode: error.code,
      provider: error.provider,
    },
  );
}

/**
 * The PSP could not be reached, or its answer was lost. Nothing is failed: the same
 * request again (or the sweeper, for refunds) resumes with the same key.
 */
export function pspUnavailable(what: string, error: PspError): SafeError {
  return new SafeError(
    `${what} could not be completed with ${error.provider} now (${error.kind}: ${error.message}); it is safe to try again`,
    { code: "PSP_UNAVAILABLE", provider: error.provider, retryable: true },
  );
}
