/** DUNNING_RETRY_SCHEDULE and INVOICE_PAYMENT_LOOKUP_AFTER (SPEC §3 style): durations, empty = unset, like every variable. */
import test from "ava";
import { ConfigError, loadConfig } from "../../src/config.ts";

const DAY = 86_400_000;

test("the dunning schedule defaults to 1d,3d,5d and reads any increasing durations", (t) => {
  t.deepEqual(loadConfig({}).dunningRetryScheduleMs, [DAY, 3 * DAY, 5 * DAY]);
  t.deepEqual(loadConfig({ DUNNING_RETRY_SCHEDULE: " 12h, 2d " }).dunningRetryScheduleMs, [
    12 * 3_600_000,
    2 * DAY,
  ]);
});

for (const bad of ["1d,,3d", "3", "3d,1d", "1d,1d", "soon"]) {
  test(`DUNNING_RETRY_SCHEDULE=${JSON.stringify(bad)} stops the process, naming it`, (t) => {
    const error = t.throws(() => loadConfig({ DUNNING_RETRY_SCHEDULE: bad }), {
      instanceOf: ConfigError,
    });
    t.regex(error?.message ?? "", /DUNNING_RETRY_SCHEDULE/);
  });
}

test("INVOICE_PAYMENT_LOOKUP_AFTER defaults to 15m and refuses what is not a duration", (t) => {
  t.is(loadConfig({}).invoicePaymentLookupAfterMs, 15 * 60_000);
  t.is(loadConfig({ INVOICE_PAYMENT_LOOKUP_AFTER: "2h" }).invoicePaymentLookupAfterMs, 7_200_000);
  const error = t.throws(() => loadConfig({ INVOICE_PAYMENT_LOOKUP_AFTER: "later" }), {
    instanceOf: ConfigError,
  });
  t.regex(error?.message ?? "", /INVOICE_PAYMENT_LOOKUP_AFTER/);
});
