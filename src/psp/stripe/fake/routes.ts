/**
 * The endpoints of the fake Stripe that Settle calls: transfers, their
 * reversals, and payouts on connected accounts. Each route checks its
 * parameters as Stripe does, acts on the books (transfers.ts, payouts.ts), and returns the object (status
 * 200); errors are thrown as StripeApiError. Auth, idempotency and headers are
 * the concern of the HTTP layer (handler.ts), not of the routes.
 */
import type Stripe from "stripe";
import type { AccountRef } from "./balances.ts";
import type { FakeEventType } from "./events.ts";
import type { FormObject } from "./form.ts";
import type { Page, PageRequest } from "./pagination.ts";
import {
  createdFilter,
  expand,
  metadata,
  onlyKnown,
  optionalAmount,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requiredAmount,
  requiredCurrency,
  requiredString,
} from "./params.ts";
import type { PayoutBook } from "./payouts.ts";
import type { TransferBook } from "./transfers.ts";
import { noSuch } from "./wire.ts";

export interface RouteContext {
  account: AccountRef;
  params: FormObject;
  /** The path's captured ids, in order. */
  ids: string[];
  /** Sends a webhook event about this request's effect. */
  emit(type: FakeEventType, object: unknown, account: AccountRef): void;
}

export interface Route {
  method: "GET" | "POST";
  path: RegExp;
  /** POST routes change state; only they take part in idempotency. */
  run(ctx: RouteContext): unknown;
}

const ID = "([^/]+)";

export function stripeRoutes({
  transfers,
  payouts,
}: {
  transfers: TransferBook;
  payouts: PayoutBook;
}): Route[] {
  return [
    {
      method: "POST",
      path: /^\/v1\/transfers$/,
      run({ account, params, emit }) {
        onlyKnown(params, [
          "amount",
          "currency",
          "destination",
          "transfer_group",
          "metadata",
          "description",
          "source_transaction",
          "source_type",
          "expand",
        ]);
        expand(params);
        const amount = requiredAmount(params);
        const currency = requiredCurrency(params);
        const destination = requiredString(params, "destination");
        if (!/^acct_[A-Za-z0-9]+$/.test(destination))
          throw noSuch("destination", destination, "destination");
        const transfer = transfers.create(account, {
          amount,
          currency,
          destination,
          transferGroup: optionalString(params, "transfer_group"),
          description: optionalString(params, "description"),
          metadata: metadata(params),
        });
        emit("transfer.created", transfer, account);
        return transfer;
      },
    },
    {
      method: "GET",
      path: /^\/v1\/transfers$/,
      run({ account, params }) {
        onlyKnown(params, [
          "created",
          "destination",
          "transfer_group",
          "limit",
          "starting_after",
          "ending_before",
          "expand",
        ]);
        expand(params);
        const page = transfers.list(
          account,
          {
            destination: optionalString(params, "destination"),
            transferGroup: optionalString(params, "transfer_group"),
            created: createdFilter(params),
          },
          pageRequest(params),
        );
        return list(page, "/v1/transfers");
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/transfers/${ID}$`),
      run({ account, params, ids }) {
        onlyKnown(params, ["expand"]);
        expand(params);
        return transfers.retrieve(account, ids[0]!);
      },
    },
    {
      method: "POST",
      path: new RegExp(`^/v1/transfers/${ID}/reversals$`),
      run({ account, params, ids, emit }) {
        onlyKnown(params, [
          "amount",
          "metadata",
          "description",
          "refund_application_fee",
          "expand",
        ]);
        expand(params);
        // description and refund_application_fee are accepted as Stripe does; a
        // TransferReversal does not carry them, and the fake charges no fees.
        optionalString(params, "description");
        optionalBoolean(params, "refund_application_fee");
        const { reversal, transfer } = transfers.reverse(
          account,
          ids[0]!,
          optionalAmount(params),
          metadata(params),
        );
        emit("transfer.reversed", transfer, account);
        return reversal;
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/transfers/${ID}/reversals$`),
      run({ account, params, ids }) {
        onlyKnown(params, ["limit", "starting_after", "ending_before", "expand"]);
        expand(params);
        const page = transfers.listReversals(account, ids[0]!, pageRequest(params));
        return list(page, `/v1/transfers/${ids[0]}/reversals`);
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/transfers/${ID}/reversals/${ID}$`),
      run({ account, params, ids }) {
        onlyKnown(params, ["expand"]);
        expand(params);
        return transfers.retrieveReversal(account, ids[0]!, ids[1]!);
      },
    },
    {
      method: "POST",
      path: /^\/v1\/payouts$/,
      run({ account, params }) {
        onlyKnown(params, [
          "amount",
          "currency",
          "description",
          "destination",
          "metadata",
          "method",
          "source_type",
          "statement_descriptor",
          "expand",
        ]);
        expand(params);
        optionalString(params, "destination");
        optionalEnum(params, "source_type", ["bank_account", "card", "fpx"]);
        return payouts.create(account, {
          amount: requiredAmount(params),
          currency: requiredCurrency(params),
          description: optionalString(params, "description"),
          method: optionalEnum(params, "method", ["standard", "instant"]) ?? "standard",
          statementDescriptor: optionalString(params, "statement_descriptor"),
          metadata: metadata(params),
        });
      },
    },
    {
      method: "GET",
      path: /^\/v1\/payouts$/,
      run({ account, params }) {
        // Stripe's other filters (arrival_date, destination, status) are not used by Settle.
        onlyKnown(params, ["created", "limit", "starting_after", "ending_before", "expand"]);
        expand(params);
        const page = payouts.list(account, createdFilter(params), pageRequest(params));
        return list(page, "/v1/payouts");
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/v1/payouts/${ID}$`),
      run({ account, params, ids }) {
        onlyKnown(params, ["expand"]);
        expand(params);
        return payouts.retrieve(account, ids[0]!);
      },
    },
  ];
}

function pageRequest(params: FormObject): PageRequest {
  return {
    limit: optionalInteger(params, "limit", 1, 100) ?? 10,
    startingAfter: optionalString(params, "starting_after"),
    endingBefore: optionalString(params, "ending_before"),
  };
}

function list<T>(page: Page<T>, url: string): Stripe.ApiList<T> {
  return { object: "list", data: page.data, has_more: page.hasMore, url };
}
