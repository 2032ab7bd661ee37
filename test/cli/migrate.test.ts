/**
 * `npm run migrate` (src/migrate-main.ts) needs the database only: an environment
 * that also carries some PSP settings (a deploy's shared env, a half-configured
 * machine) must not stop it, and a second run applies nothing.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import pg from "pg";
import { cleanEnv, start } from "./process.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const TSX = resolve(ROOT, "node_modules/tsx/dist/cli.mjs");

test("migrates an empty database with only DATABASE_URL required, then finds nothing to apply", async (t) => {
  const adminUrl = process.env.SETTLE_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error("run the suite with `npm test`");
  const name = `settle_migrate_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  t.teardown(async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const migrate = async () => {
    const child = start(process.execPath, [TSX, "src/migrate-main.ts"], {
      cwd: ROOT,
      env: {
        ...cleanEnv(/^(DATABASE_URL|PG[A-Z]+|JWT_SECRET|HYPERSWITCH_|STRIPE_|SETTLE_|LOG_LEVEL)/),
        DATABASE_URL: url.toString(),
        // A Stripe key without the server's webhook secret or JWT_SECRET.
        STRIPE_SECRET_KEY: "sk_test_migrate",
        LOG_LEVEL: "warn",
      },
    });
    const { code } = await child.exited(120_000);
    return { code, output: child.output() };
  };
  const first = await migrate();
  t.is(first.code, 0, first.output);
  t.regex(first.output, /^applied \d+ migration\(s\): /m);
  t.regex(first.output, /\(current with this build\)$/m);
  const second = await migrate();
  t.is(second.code, 0, second.output);
  t.regex(second.output, /^already up to date: nothing applied$/m);
});
