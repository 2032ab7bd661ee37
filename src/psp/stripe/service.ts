import "reflect-metadata";
/**
 * Settle's Stripe Connect calls (SPEC §5): seller transfers, their reversals,
 * payouts on connected accounts, the look-ups that resolve unknown outcomes,
 * and webhook verification. Every POST takes its idempotency key as its first
 * parameter (the row id, SPEC §1.1) and refuses a blank one before any I/O;
 * every failure is a PspError of the right kind (classify.ts), with the typed
 * outcomes of errors.ts where a job branches on them.
 */
import type Stripe from "stripe";
import { inject, injectable } from "tsyringe";
import { type Clock, ClockToken } from "../../di/tokens.ts";
import type { Logger } from "../../log.ts";
import { PspError, requireKey } from "../errors.ts";
import { classifyStripeError } from "./classify.ts";
import {
  createStripeClient,
  type StripeServiceOptions,
  StripeServiceOptionsToken,
} from "./client.ts";
import { AlreadyReversed, InvalidWebhookSignature, metadataMatches } from "./errors.ts";

export interface TransferRequest {
  /** Minor units. */
  amount: number;
  /** ISO 4217, any case; sent lower-cased as Stripe writes it. */
  currency: string;
  /** The seller's connected account, `acct_…`. */
  destination: string;
  /** Our order id: the correlation key that `findTransfer` lists by. */
  transferGroup: string;
  metadata: Record<string, string>;
}

export interface PayoutRequest {
  amount: number;
  currency: string;
  metadata: Record<string, string>;
}

export interface TransferListFilter {
  destination: string;
  transferGroup?: string;
  /** Unix seconds, exact or a range. */
  created?: number | Stripe.RangeQueryParam;
}

/** Stripe's default, and what SPEC §5 asks: older signatures are replays. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The largest page Stripe serves: look-ups walk whole lists in as few calls as possible. */
const PAGE = 100;

@injectable()
export class StripeService {
  readonly #stripe: Stripe;
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(
    @inject(StripeServiceOptionsToken) options: StripeServiceOptions,
    @inject(ClockToken) clock: Clock,
  ) {
    this.#stripe = createStripeClient(options);
    this.#log = options.logger.child({ psp: "stripe" });
    this.#clock = clock;
  }

  /** `transfers.create` → the transfer id. */
  async createTransfer(key: string, request: TransferRequest): Promise<string> {
    requireKey(key, "Stripe createTransfer");
    checkAmount(request.amount);
    const params: Stripe.TransferCreateParams = {
      amount: request.amount,
      currency: currency(request.currency),
      destination: nonBlank(request.destination, "destination"),
      transfer_group: nonBlank(request.transferGroup, "transferGroup"),
      metadata: request.metadata,
    };
    const transfer = await this.#call("createTransfer", key, {}, () =>
      this.#stripe.transfers.create(params, { idempotencyKey: key }),
    );
    return transfer.id;
  }

  /**
   * `transfers.createReversal` → the reversal id; `amount` null reverses what is
   * left. Stripe answers a transfer with no room left with a bare 400
   * invalid_request_error, so after any such error the transfer is retrieved:
   * if it is `reversed`, or what is left is less than asked, this throws
   * AlreadyReversed carrying the transfer and its reversals; otherwise the
   * original error. TransferNotFound and InsufficientBalance come as they are.
   */
  async reverseTransfer(
    key: string,
    transferId: string,
    amount: number | null,
    metadata: Record<string, string>,
  ): Promise<string> {
    requireKey(key, "Stripe reverseTransfer");
    nonBlank(transferId, "transferId");
    if (amount !== null) checkAmount(amount);
    const params: Stripe.TransferCreateReversalParams = {
      metadata,
      ...(amount === null ? {} : { amount }),
    };
    try {
      const reversal = await this.#stripe.transfers.createReversal(transferId, params, {
        idempotencyKey: key,
      });
      return reversal.id;
    } catch (error) {
      const failure = classifyStripeError(error, { transferId });
      const refused =
        failure.kind === "permanent" &&
        failure.httpStatus === 400 &&
        (failure.cause as Stripe.errors.StripeError | undefined)?.rawType ===
          "invalid_request_error" &&
        failure.code !== "balance_insufficient";
      const decided = refused ? await this.#alreadyReversed(transferId, amount, failure) : failure;
      throw this.#failed("reverseTransfer", key, decided);
    }
  }

  /** `transfers.retrieve`: `reversed`, `amount_reversed` and the 10 newest reversals. */
  async retrieveTransfer(transferId: string): Promise<Stripe.Transfer> {
    nonBlank(transferId, "transferId");
    return this.#call("retrieveTransfer", null, { transferId }, () =>
      this.#stripe.transfers.retrieve(transferId),
    );
  }

  /**
   * The look-up for an unknown outcome of createTransfer (SPEC §1.2): Stripe
   * cannot search transfers by metadata, so list the order's transfer group (all
   * pages) and match metadata here. Null: the transfer was not made.
   */
  async findTransfer(
    transferGroup: string,
    match: Record<string, string>,
  ): Promise<Stripe.Transfer | null> {
    nonBlank(transferGroup, "transferGroup");
    nonEmpty(match);
    const found: Stripe.Transfer[] = [];
    await this.#call("findTransfer", null, {}, async () => {
      for await (const transfer of this.#stripe.transfers.list({
        transfer_group: transferGroup,
        limit: PAGE,
      })) {
        if (metadataMatches(transfer.metadata, match)) found.push(transfer);
      }
    });
    if (found.length > 1) {
      // Two transfers for one row: money went out twice. Adopt the oldest (the
      // one a replay of our key would return) and make the duplicate loud.
      this.#log.error(
        { transferGroup, match, transferIds: found.map((t) => t.id) },
        "more than one Stripe transfer matches one row",
      );
    }
    return found.at(-1) ?? null;
  }

  /**
   * The look-up for an unknown outcome of reverseTransfer: the transfer's
   * reversals (all pages) whose metadata match. Null: the reversal was not made.
   */
  async findReversal(
    transferId: string,
    match: Record<string, string>,
  ): Promise<Stripe.TransferReversal | null> {
    nonBlank(transferId, "transferId");
    nonEmpty(match);
    const reversals = await this.#call("findReversal", null, { transferId }, () =>
      this.#allReversals(transferId),
    );
    return reversals.find((r) => metadataMatches(r.metadata, match)) ?? null;
  }

  /**
   * A seller's transfers, newest first, every page fetched as the caller
   * iterates (the backfill walks them at its own pace and rate).
   */
  listTransfers(filter: TransferListFilter): AsyncIterable<Stripe.Transfer> {
    nonBlank(filter.destination, "destination");
    const params: Stripe.TransferListParams = {
      destination: filter.destination,
      limit: PAGE,
      ...(filter.transferGroup === undefined ? {} : { transfer_group: filter.transferGroup }),
      ...(filter.created === undefined ? {} : { created: filter.created }),
    };
    return this.#paged("listTransfers", () => this.#stripe.transfers.list(params));
  }

  /**
   * Every transfer the platform made, to any destination, newest first (the
   * reconciliation walks them all). Each carries its 10 newest reversals.
   */
  listAllTransfers(
    filter: { created?: number | Stripe.RangeQueryParam } = {},
  ): AsyncIterable<Stripe.Transfer> {
    const params: Stripe.TransferListParams = {
      limit: PAGE,
      ...(filter.created === undefined ? {} : { created: filter.created }),
    };
    return this.#paged("listAllTransfers", () => this.#stripe.transfers.list(params));
  }

  /** A transfer's reversals, newest first, for a transfer with more than its 10 inline. */
  listReversals(transferId: string): AsyncIterable<Stripe.TransferReversal> {
    nonBlank(transferId, "transferId");
    return this.#paged("listReversals", () =>
      this.#stripe.transfers.listReversals(transferId, { limit: PAGE }),
    );
  }

  /** The payouts of a connected account (`Stripe-Account`), newest first. */
  listPayouts(
    account: string,
    filter: { created?: number | Stripe.RangeQueryParam } = {},
  ): AsyncIterable<Stripe.Payout> {
    connectedAccount(account, "listPayouts");
    const params: Stripe.PayoutListParams = {
      limit: PAGE,
      ...(filter.created === undefined ? {} : { created: filter.created }),
    };
    return this.#paged("listPayouts", () =>
      this.#stripe.payouts.list(params, { stripeAccount: account }),
    );
  }

  /** `payouts.retrieve` on the connected account, or null when Stripe has no such payout. */
  async findPayout(account: string, payoutId: string): Promise<Stripe.Payout | null> {
    connectedAccount(account, "findPayout");
    nonBlank(payoutId, "payoutId");
    try {
      return await this.#stripe.payouts.retrieve(payoutId, {}, { stripeAccount: account });
    } catch (error) {
      const failure = classifyStripeError(error);
      if (failure.httpStatus === 404 && failure.code === "resource_missing") return null;
      throw this.#failed("findPayout", null, failure);
    }
  }

  /** `transfers.retrieve`, or null when Stripe has no such transfer. */
  async findTransferById(transferId: string): Promise<Stripe.Transfer | null> {
    try {
      return await this.retrieveTransfer(transferId);
    } catch (error) {
      if (error instanceof PspError && error.httpStatus === 404) return null;
      throw error;
    }
  }

  /** `payouts.create` on the connected account (`Stripe-Account`) → the payout id. */
  async createPayout(key: string, account: string, request: PayoutRequest): Promise<string> {
    requireKey(key, "Stripe createPayout");
    // Without it the payout would silently come out of the platform's balance.
    connectedAccount(account, "createPayout");
    checkAmount(request.amount);
    const payout = await this.#call("createPayout", key, {}, () =>
      this.#stripe.payouts.create(
        {
          amount: request.amount,
          currency: currency(request.currency),
          metadata: request.metadata,
        },
        { idempotencyKey: key, stripeAccount: account },
      ),
    );
    return payout.id;
  }

  /**
   * Verifies `Stripe-Signature` over the raw body (300 s tolerance, on our
   * clock) and parses the event. Throws InvalidWebhookSignature for a bad,
   * missing or stale signature: the endpoint answers 401 and stores nothing.
   */
  constructEvent(
    rawBody: string | Buffer,
    signatureHeader: string | null | undefined,
    secret: string,
  ): Stripe.Event {
    if (typeof secret !== "string" || secret.trim() === "") {
      throw new TypeError("Stripe constructEvent: the webhook endpoint secret is required");
    }
    try {
      return this.#stripe.webhooks.constructEvent(
        rawBody,
        signatureHeader ?? "",
        secret,
        WEBHOOK_TOLERANCE_SECONDS,
        undefined,
        this.#clock(),
      );
    } catch (error) {
      throw new InvalidWebhookSignature({
        code: null,
        message: error instanceof Error ? error.message : String(error),
        httpStatus: null,
        requestId: null,
        cause: error,
      });
    }
  }

  async #alreadyReversed(
    transferId: string,
    amount: number | null,
    refusal: PspError,
  ): Promise<PspError> {
    let transfer: Stripe.Transfer;
    let reversals: Stripe.TransferReversal[];
    try {
      transfer = await this.#stripe.transfers.retrieve(transferId);
      reversals = transfer.reversals.has_more
        ? await this.#allReversals(transferId)
        : transfer.reversals.data;
    } catch (error) {
      // Undecided until the transfer can be read. The reversal was refused, so
      // nothing was done, and a failed GET changed nothing either: come back
      // later (retryable), unless the look-up's failure is permanent itself.
      const lookup = classifyStripeError(error, { transferId });
      if (lookup.kind === "permanent") return lookup;
      return new PspError({
        provider: "stripe",
        kind: "retryable",
        code: refusal.code,
        message: `reversal refused (${refusal.message}); the transfer look-up failed: ${lookup.message}`,
        httpStatus: refusal.httpStatus,
        requestId: refusal.requestId,
        cause: lookup,
      });
    }
    const left = transfer.amount - transfer.amount_reversed;
    // A full reversal (amount null) needs at least one unit left.
    const noRoom = transfer.reversed || left < (amount ?? 1);
    if (!noRoom) return refusal;
    this.#log.info(
      { transferId, asked: amount, amountReversed: transfer.amount_reversed },
      "Stripe refused a reversal: the transfer has no room left for it",
    );
    return new AlreadyReversed(transfer, reversals, {
      code: refusal.code,
      message: refusal.message,
      httpStatus: refusal.httpStatus,
      requestId: refusal.requestId,
      cause: refusal.cause,
    });
  }

  /**
   * A list walked lazily: the SDK fetches the next page when the caller runs out
   * of items, so a caller can pace its requests; failures come as PspErrors.
   */
  #paged<T>(op: string, open: () => AsyncIterator<T>): AsyncIterable<T> {
    const failed = (error: unknown) => this.#failed(op, null, classifyStripeError(error));
    return {
      async *[Symbol.asyncIterator]() {
        const pages = open();
        while (true) {
          let next: IteratorResult<T>;
          try {
            next = await pages.next();
          } catch (error) {
            throw failed(error);
          }
          if (next.done) return;
          yield next.value;
        }
      },
    };
  }

  async #allReversals(transferId: string): Promise<Stripe.TransferReversal[]> {
    const all: Stripe.TransferReversal[] = [];
    for await (const reversal of this.#stripe.transfers.listReversals(transferId, {
      limit: PAGE,
    })) {
      all.push(reversal);
    }
    return all;
  }

  async #call<T>(
    op: string,
    key: string | null,
    context: { transferId?: string },
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#failed(op, key, classifyStripeError(error, context));
    }
  }

  #failed(op: string, key: string | null, error: PspError): PspError {
    const fields = {
      op,
      key,
      kind: error.kind,
      code: error.code,
      httpStatus: error.httpStatus,
      requestId: error.requestId,
    };
    // An unknown outcome is the one that needs a look-up before anything else.
    if (error.kind === "unknown") this.#log.warn(fields, `Stripe ${op}: ${error.message}`);
    else this.#log.info(fields, `Stripe ${op}: ${error.message}`);
    return error;
  }
}

/** Money is integer minor units (SPEC §1.7): a float or a zero never leaves. */
function checkAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new TypeError(`Stripe: an amount is a positive integer in minor units, got ${amount}`);
  }
}

function currency(code: string): string {
  if (typeof code !== "string" || !/^[A-Za-z]{3}$/.test(code)) {
    throw new TypeError(`Stripe: not an ISO 4217 currency: ${JSON.stringify(code)}`);
  }
  return code.toLowerCase();
}

/** Payout calls act on a connected account; without one they would act on the platform's. */
function connectedAccount(account: string, op: string): void {
  if (typeof account !== "string" || !/^acct_\w+$/.test(account)) {
    throw new TypeError(
      `Stripe ${op}: a connected account id is required (got ${JSON.stringify(account)})`,
    );
  }
}

function nonBlank(value: string, what: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`Stripe: ${what} is required (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** An empty match would adopt any object of the list: never what a look-up means. */
function nonEmpty(match: Record<string, string>): void {
  if (Object.keys(match).length === 0) {
    throw new TypeError("Stripe: a metadata match needs at least one key");
  }
}
