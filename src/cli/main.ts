/**
 * The operator CLI (SPEC §8). One subcommand per file in this folder; `--help` on
 * each. Exit codes scripts can rely on: 0 done, 1 failed, 2 bad usage (and 3 from
 * `status` and `reconcile`: something wants a human).
 */
import { Command, CommanderError } from "commander";
import { backfillTransferIdsCommand } from "./backfill-transfer-ids.ts";
import { fakePspCommand } from "./fake-psp.ts";
import { reconcileCommand } from "./reconcile.ts";
import { replayWebhookCommand } from "./replay-webhook.ts";
import { statusCommand } from "./status.ts";

const program = new Command("settle")
  .description("Operator commands of Settle, the marketplace money-movement service.")
  .showHelpAfterError()
  .exitOverride();

program.addCommand(fakePspCommand());
program.addCommand(backfillTransferIdsCommand());
program.addCommand(replayWebhookCommand());
program.addCommand(statusCommand());
program.addCommand(reconcileCommand());
// addCommand() does not pass these settings down: each subcommand gets them here.
for (const command of program.commands) command.exitOverride().showHelpAfterError();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
