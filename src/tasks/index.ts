/**
 * The worker's tasks, one per file in this folder (`<table>__<event>.ts`), named
 * here so the runner gets an explicit list instead of scanning a directory at
 * run time. Payloads are untrusted (`unknown`): each task validates its own.
 */
import type { TaskList } from "graphile-worker";
import type { TaskDeps } from "./deps.ts";
import {
  makeSendPaymentCancellation,
  TASK as SEND_PAYMENT_CANCELLATION,
} from "./payment_cancellations__send.ts";
import { makeSendRefund, TASK as SEND_REFUND } from "./refunds__send.ts";
import { TASK as CREATE_PAYOUT, makeCreatePayout } from "./seller_payouts__create.ts";
import {
  makePayAll,
  TASK as PAY_ALL,
  CRONTAB as PAY_ALL_CRONTAB,
} from "./seller_payouts__pay_all.ts";
import { TASK as CREATE_TRANSFER, makeCreateTransfer } from "./seller_transfers__create.ts";
import { TASK as CHARGE_INVOICE, makeChargeInvoice } from "./subscription_invoices__charge.ts";
import {
  TASK as LOOK_UP_INVOICE_PAYMENT,
  makeLookUpInvoicePayment,
} from "./subscription_invoices__look_up.ts";
import { makeRenewSubscription, TASK as RENEW_SUBSCRIPTION } from "./subscriptions__renew.ts";
import { makeSweeper, SWEEPER_TASK } from "./sweeper.ts";
import {
  makeReverseTransfer,
  REVERSALS_FLAG,
  TASK as REVERSE_TRANSFER,
} from "./transfer_reversals__reverse.ts";
import { makeProcessWebhook, TASK as PROCESS_WEBHOOK } from "./webhook_events__process.ts";

export type { TaskDeps } from "./deps.ts";
export { SWEEPER_JOB_KEY, SWEEPER_TASK } from "./sweeper.ts";

export function makeTaskList(deps: TaskDeps): TaskList {
  return {
    [CREATE_TRANSFER]: makeCreateTransfer(deps),
    [REVERSE_TRANSFER]: makeReverseTransfer(deps),
    [SEND_REFUND]: makeSendRefund(deps),
    [SEND_PAYMENT_CANCELLATION]: makeSendPaymentCancellation(deps),
    [PROCESS_WEBHOOK]: makeProcessWebhook(deps),
    [CREATE_PAYOUT]: makeCreatePayout(deps),
    [PAY_ALL]: makePayAll(deps),
    [CHARGE_INVOICE]: makeChargeInvoice(deps),
    [LOOK_UP_INVOICE_PAYMENT]: makeLookUpInvoicePayment(deps),
    [RENEW_SUBSCRIPTION]: makeRenewSubscription(deps),
    [SWEEPER_TASK]: makeSweeper({ intervalMs: deps.config.sweepIntervalMs, logger: deps.logger }),
  };
}

/**
 * Job flags this process refuses: REVERSAL_WORKER_ENABLED=false pauses reversals
 * (their rows keep accumulating, and run once reversals are enabled again).
 */
export function forbiddenFlags(deps: Pick<TaskDeps, "config">): string[] {
  return deps.config.reversal.workerEnabled ? [] : [REVERSALS_FLAG];
}

/**
 * graphile-worker crontab text for the scheduled tasks this task list has (the
 * daily payout run); empty for a list without them, e.g. a test's.
 */
export function crontabFor(taskList: TaskList): string {
  return PAY_ALL in taskList ? PAY_ALL_CRONTAB : "";
}
