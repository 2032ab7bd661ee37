/**
 * Helpers for the server tests: an app (API + worker) on a test database cloned
 * from the run's template, signed JWTs, and a small GraphQL client.
 */
import type { TestFn } from "ava";
import type { TaskList } from "graphile-worker";
import { SignJWT } from "jose";
import pg from "pg";
import { pino } from "pino";
import { type App, createApp } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { createSlonikPool } from "../../src/db/slonik.ts";
import { type Flows, makeFlows } from "../../src/flows/index.ts";
import type { Logger } from "../../src/log.ts";
import { HyperswitchClient } from "../../src/psp/hyperswitch/client.ts";
import {
  type FakeHyperswitch,
  startFakeHyperswitch,
} from "../../src/psp/hyperswitch/fake/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

export const TEST_JWT_SECRET = "settle-test-secret-of-at-least-32-characters";

export interface RunningApp {
  app: App;
  url: string;
  db: TestDatabase;
  config: Config;
  /** Stops the app and drops its database. */
  stop(): Promise<void>;
}

export interface TestAppOptions {
  logger?: Logger;
  /** (Default: TEST_JWT_SECRET) */
  jwtSecret?: string;
  /** A database made beforehand (e.g. for flows bound to it); dropped by stop() all the same. */
  db?: TestDatabase;
  /** The flows behind the PSP-calling mutations; without them those mutations do not exist. */
  flows?: Flows;
  /** (Default: the app's tasks) `{}` keeps the worker from touching rows under test. */
  taskList?: TaskList;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<RunningApp> {
  const db = options.db ?? (await createTestDatabase());
  // Port 0: any free port. Few jobs run here, so a small pool is plenty.
  const config: Config = {
    ...loadConfig({
      JWT_SECRET: options.jwtSecret ?? TEST_JWT_SECRET,
      WORKER_CONCURRENCY: "2",
    }),
    port: 0,
  };
  const app = createApp({
    config,
    connectionString: db.url,
    logger: options.logger ?? pino({ level: "silent" }),
    ...(options.flows ? { flows: options.flows } : {}),
    ...(options.taskList ? { taskList: options.taskList } : {}),
  });
  try {
    const { port } = await app.start();
    return {
      app,
      url: `http://127.0.0.1:${port}`,
      db,
      config,
      async stop() {
        await app.stop();
        await db.drop();
      },
    };
  } catch (error) {
    await db.drop();
    throw error;
  }
}

export interface FlowsApp {
  running: RunningApp;
  /** The Hyperswitch the flows call: inspect its requests, inject faults, settle payments. */
  fake: FakeHyperswitch;
  /** The database owner's pool, to seed and inspect rows as an operator would. */
  owner: pg.Pool;
  /** Stops the app, the flows' pool, the fake, and drops the database. */
  stop(): Promise<void>;
}

/** One FlowsApp for the whole test file, as `t.context.app`; stopped after the last test. */
export function useFlowsApp<T extends { app: FlowsApp }>(test: TestFn<T>): void {
  test.before(async (t) => {
    t.context.app = await startFlowsApp();
  });
  test.after.always(async (t) => {
    await t.context.app?.stop();
  });
}

/**
 * The app with its PSP-calling mutations, wired as production wires them (real
 * flows on their own slonik pool, the real Hyperswitch client) against the fake
 * Hyperswitch. No worker tasks: what the tests see is the mutations' doing only.
 */
export async function startFlowsApp(): Promise<FlowsApp> {
  const logger = pino({ level: "silent" });
  const db = await createTestDatabase();
  const fake = await startFakeHyperswitch({ logger });
  const flowsDb = await createSlonikPool(db.url, { maximumPoolSize: 5, logger });
  const hyperswitch = new HyperswitchClient({
    baseUrl: fake.url,
    apiKey: fake.apiKey,
    timeoutMs: 5_000,
    logger,
  });
  const closeFlows = async () => {
    await flowsDb.end();
    await fake.close();
  };
  let running: RunningApp;
  try {
    const flows = makeFlows({ db: flowsDb, hyperswitch, logger });
    running = await startTestApp({ db, flows, taskList: {}, logger });
  } catch (error) {
    await closeFlows();
    throw error;
  }
  const owner = new pg.Pool({ connectionString: db.url, max: 3 });
  return {
    running,
    fake,
    owner,
    async stop() {
      await running.app.stop();
      await owner.end();
      await closeFlows();
      await running.stop();
    },
  };
}

export interface Claims {
  role: string;
  sub?: string;
}

/** An HS256 token; `expiresIn: null` leaves out `exp`. */
export async function signJwt(
  claims: Claims,
  {
    secret = TEST_JWT_SECRET,
    expiresIn = "5m",
  }: { secret?: string; expiresIn?: string | number | null } = {},
): Promise<string> {
  const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (expiresIn !== null) jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

export interface GraphQLResponse {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: {
      message: string;
      locations?: { line: number; column: number }[];
      extensions?: Record<string, unknown>;
    }[];
  };
}

export async function graphql(
  url: string,
  query: string,
  {
    token,
    authorization,
    variables,
    accept = "application/json",
  }: {
    token?: string;
    authorization?: string;
    variables?: object;
    /** application/graphql-response+json: request errors are HTTP 400 instead of 200. */
    accept?: string;
  } = {},
): Promise<GraphQLResponse> {
  const headers: Record<string, string> = { "content-type": "application/json", accept };
  const auth = authorization ?? (token ? `Bearer ${token}` : undefined);
  if (auth) headers.authorization = auth;
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse["body"] };
}

/** The first error's extensions.code, for assertions. */
export function errorCode(response: GraphQLResponse): unknown {
  return response.body.errors?.[0]?.extensions?.code;
}

/** `data[field]` of a response, or a failure that shows the errors instead. */
export function dataOf<T>(response: GraphQLResponse, field: string): T {
  const value = response.body.data?.[field];
  if (value === undefined || value === null) {
    throw new Error(`no data.${field} (HTTP ${response.status}): ${JSON.stringify(response.body)}`);
  }
  return value as T;
}

/** The sorted ids of a connection field's nodes. */
export function idsOf(response: GraphQLResponse, field: string): string[] {
  return dataOf<{ nodes: { id: string }[] }>(response, field)
    .nodes.map((node) => node.id)
    .sort();
}
