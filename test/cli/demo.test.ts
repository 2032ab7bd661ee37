/**
 * `npm run demo`: one order's whole lifecycle on the embedded defaults exits 0,
 * prints the state changes the database recorded and clean ops views, ignores
 * the caller's database and PSP settings, and leaves no cluster or directory.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { cleanEnv, start } from "./process.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

/** PIDs of processes whose command line names `dir` (postgres runs with -D <dir>/pg). */
async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(dir)) pids.push(Number(entry));
  }
  return pids;
}

/** `<entity> <id> <from> -> <to>` lines (ids: 8 hex characters); `from` is a pattern. */
const transition = (entity: string, from: string, to: string) =>
  new RegExp(`^\\s+${entity}\\s+[0-9a-f]{8}\\s+${from} -> ${to}\\s`, "gm");

test("npm run demo: the lifecycle's transitions, empty money invariants, exit 0, nothing left behind", async (t) => {
  t.timeout(150_000);
  const demo = start("npm", ["run", "demo"], {
    cwd: ROOT,
    env: {
      ...cleanEnv(/^(SETTLE_DATA_DIR|LOG_LEVEL)$/),
      // Settings a developer may have exported: the demo must use none of them.
      DATABASE_URL: "postgres://nobody:nothing@127.0.0.1:1/none",
      HYPERSWITCH_BASE_URL: "http://127.0.0.1:1",
      HYPERSWITCH_API_KEY: "snd_real_looking_key",
      HYPERSWITCH_WEBHOOK_SECRET: "whsec_real_looking",
      STRIPE_SECRET_KEY: "sk_live_must_not_be_used",
      STRIPE_WEBHOOK_SECRET: "whsec_real_looking",
    },
  });
  const { code } = await demo.exited(120_000);
  const output = demo.output();

  t.is(code, 0, output);
  t.regex(output, transition("orders", "\\(new\\)", "pending"));
  t.regex(output, transition("orders", "pending", "payment_pending"));
  t.regex(output, transition("orders", "payment_pending", "paid"));
  t.regex(output, transition("orders", "paid", "partially_refunded"));
  t.is(output.match(transition("seller_transfers", "pending", "completed"))?.length, 2, output);
  // The refund's webhook may beat the mutation's own `processing` (SPEC §5: events come early).
  t.is(output.match(transition("refunds", "(pending|processing)", "succeeded"))?.length, 1, output);
  t.is(output.match(transition("transfer_reversals", "pending", "reversed"))?.length, 2, output);
  t.regex(output, /^ops\.money_invariants: empty$/m);
  t.regex(output, /^ {2}orders\s+partially_refunded\s+1\s+10000$/m, "the pipeline summary");
  t.regex(output, /^demo completed/m);

  const dataDir = /PostgreSQL: embedded, in (\S+) \(deleted at the end\)/.exec(output)?.[1];
  t.truthy(dataDir, "a throwaway data directory, named in the output");
  t.false(existsSync(dataDir!), "the data directory is gone");
  t.deepEqual(await processesUsing(dataDir!), [], "no postgres survives the demo");
});
