/**
 * SPEC §3 requires JWT_SECRET once real PSPs are configured and says nothing of its
 * length, so a short secret is accepted and the API authenticates with it. HS256
 * wants a 256-bit key, so the server warns at start, naming the length only.
 */
import test from "ava";
import { pino } from "pino";
import { graphql, signJwt, startTestApp } from "./helpers.ts";

const SHORT = "spec-secret";

test("a JWT_SECRET shorter than 32 bytes: a start-up warning, and tokens signed with it work", async (t) => {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const running = await startTestApp({ logger, jwtSecret: SHORT });
  t.teardown(() => running.stop());

  const warnings = lines.filter((line) => line.level === 40 && /JWT_SECRET/.test(line.msg));
  t.is(warnings.length, 1, JSON.stringify(lines));
  t.regex(warnings[0]?.msg ?? "", /^JWT_SECRET is 11 bytes: HS256 wants at least 32 bytes/);
  t.false(JSON.stringify(lines).includes(SHORT), "the secret itself is never logged");

  const register = `mutation { registerBuyer(input: { email: "short-secret@example.com" }) { buyer { email } } }`;
  const accepted = await graphql(running.url, register, {
    token: await signJwt({ role: "settle_platform" }, { secret: SHORT }),
  });
  t.deepEqual(accepted.body.errors, undefined);
  t.deepEqual(accepted.body.data?.registerBuyer, { buyer: { email: "short-secret@example.com" } });
  const forged = await graphql(running.url, register, {
    token: await signJwt({ role: "settle_platform" }, { secret: `${SHORT}!` }),
  });
  t.is(forged.body.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");
});
