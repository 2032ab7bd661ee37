/**
 * Whether an error says only that the database went away (restart, failover,
 * a terminated backend), as opposed to anything about the work itself.
 *
 * graphile-worker 0.18 records a job's success or failure without awaiting it
 * (worker.js calls completeJob/failJob and drops the promise): if the database
 * goes away at that instant, the rejection is unhandled and Node ends the
 * process. Those are the rejections a Settle process survives: the job stays
 * locked, and the sweeper gives its row a new job (the row is the truth).
 */
const SQLSTATES = new Set([
  "57P01", // admin_shutdown: the server is stopping (or pg_terminate_backend)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: starting up or shutting down
]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);
/**
 * node-postgres reports a socket closed under it with these messages and no code;
 * pg-pool the last one when no connection could be made in connectionTimeoutMillis
 * (a server restarting or swamped): the call never reached the database either.
 */
const PG_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error/,
  /^timeout exceeded when trying to connect$/,
];

export function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SQLSTATES.has(code) || code.startsWith("08") || SOCKET_CODES.has(code)) return true;
  }
  if (PG_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  return error.cause !== undefined && error.cause !== error && isConnectionLoss(error.cause);
}
