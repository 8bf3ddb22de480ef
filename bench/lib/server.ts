// Starts what the bench measures: TMA (embedded or production, one or two instances), the bare relay, or nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

export const ROOT = resolve(import.meta.dirname, '../..');

export type Mode = 'embedded' | 'production';

/** How the server runs: TypeScript sources through tsx, or the compiled build (`node dist/main.js`). */
export type ServerEntry = 'tsx' | 'dist';

export interface TargetOptions {
  mode: Mode;
  instances: number;
  /** A running server to measure instead of starting one (no restarts, CPU/RSS only with `pid`). */
  url?: string;
  pid?: number;
  databaseUrl: string;
  redisUrl: string;
  /** Write a V8 CPU profile per instance into this directory (on graceful stop). */
  cpuProfileDir?: string;
  /** Extra server environment (e.g. DATABASE_POOL_SIZE), over the bench defaults. */
  env?: Record<string, string>;
  /** Directory to start the server from (default: this checkout), e.g. a clean export of a commit. */
  serverRoot?: string;
  /** `dist`: start `node dist/main.js` (built beforehand with `buildServer`); default `tsx`. */
  entry?: ServerEntry;
  /** Append every server output line here (e.g. with SLOW_QUERY_MS=0 to count queries). */
  logFile?: string;
  tag: string;
}

export interface Target {
  kind: 'tma' | 'baseline';
  description: string;
  urls: string[];
  pids(): number[];
  /** PostgreSQL backend processes serving this target's database (production mode on this machine). */
  dbPids(): Promise<number[]>;
  /** kill -9 instance `index` (restart scenario). */
  kill(index: number): void;
  /** Starts instance `index` again on the same port and data. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Environment that lets the bench drive the server hard: limits far above the load, quiet logs. */
export function benchEnv(port: number): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '100000000',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000000',
    SOCKET_MESSAGES_PER_SECOND: '10000',
    UPLOADS_PER_MINUTE: '100000',
    MAX_GROUP_MEMBERS: '10000',
    ACCESS_TOKEN_TTL: '7200',
    SHUTDOWN_TIMEOUT_MS: '5000',
  };
}

/** Every process the bench started: killed when the runner exits, however it exits. */
const spawned = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Child {
  process: ChildProcess;
  url: string;
  tail: () => string;
}

/** Spawns a Node entry point and resolves once a stdout line matches `ready` (its first group is the URL). */
export function spawnReady(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 90_000,
  logFile?: string,
  cwd = ROOT,
): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stderr?.on('data', keep);
  return new Promise((resolveChild, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not start in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      keep(chunk);
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining so the pipe never blocks the server.
        child.stdout?.on('data', keep);
        resolveChild({ process: child, url: match[1] as string, tail: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready:\n${output}`));
    });
  });
}

async function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

const READY = /"api":"(http:\/\/[^"]+)\/api\/v1"/;

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Backend pids of one database (pg_stat_activity), to read their CPU time from /proc. */
async function backendPids(adminUrl: string, name: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1',
      [name],
    );
    return rows.map((r) => Number(r.pid));
  } catch {
    return [];
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch {
    // A leftover database is only disk space; never fail a finished run for it.
  } finally {
    await client.end();
  }
}

/** Starts TMA as the bench needs it and returns handles to measure, kill and restart it. */
export async function startTma(options: TargetOptions): Promise<Target> {
  if (options.url) {
    return {
      kind: 'tma',
      description: `external server at ${options.url}`,
      urls: [options.url.replace(/\/api\/v1\/?$/, '')],
      pids: () => (options.pid ? [options.pid] : []),
      dbPids: async () => [],
      kill: () => {
        throw new Error('an external server cannot be killed by the bench');
      },
      restart: async () => {
        throw new Error('an external server cannot be restarted by the bench');
      },
      stop: async () => undefined,
    };
  }
  const instances = options.mode === 'production' ? Math.max(1, options.instances) : 1;
  const shared: Record<string, string> = {};
  let dataDir: string | undefined;
  let database: { admin: string; name: string } | undefined;
  if (options.mode === 'embedded') {
    dataDir = mkdtempSync(join(tmpdir(), 'tma-bench-'));
    shared.DATA_DIR = dataDir;
  } else {
    const name = `tma_bench_${options.tag.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
    shared.DATABASE_URL = await createDatabase(options.databaseUrl, name);
    database = { admin: options.databaseUrl, name };
    shared.REDIS_URL = options.redisUrl;
    shared.REDIS_KEY_PREFIX = `tma-bench-${options.tag}:`;
    shared.JWT_SECRET = randomBytes(32).toString('hex');
  }
  if (options.cpuProfileDir) mkdirSync(options.cpuProfileDir, { recursive: true });
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  const children: Array<Child | undefined> = [];
  const compiled = options.entry === 'dist';
  const launch = async (i: number) => {
    const execArgv = compiled ? [] : ['--import', 'tsx'];
    if (options.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    children[i] = await spawnReady(
      [...execArgv, compiled ? 'dist/main.js' : 'src/main.ts'],
      { ...benchEnv(ports[i] as number), ...shared, ...(options.env ?? {}) },
      READY,
      90_000,
      options.logFile,
      options.serverRoot,
    );
  };
  const cleanUp = async () => {
    await Promise.all(children.map((c) => (c ? stopChild(c.process) : undefined)));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (database) await dropDatabase(database.admin, database.name);
  };
  try {
    // One at a time: the first instance applies the migrations.
    for (let i = 0; i < instances; i++) await launch(i);
  } catch (error) {
    // A server that does not start (bad --env, a build error) leaves no data directory or database behind.
    await cleanUp();
    throw error;
  }
  return {
    kind: 'tma',
    description: `${
      options.mode === 'embedded'
        ? 'TMA embedded (PGlite, in-process pub/sub)'
        : `TMA production (PostgreSQL + Redis, ${instances} instance${instances > 1 ? 's' : ''})`
    }${compiled ? ', compiled (node dist/main.js)' : ', through tsx'}`,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    pids: () => children.map((c) => c?.process.pid ?? 0).filter((p) => p > 0 && isRunning(p)),
    dbPids: () => (database ? backendPids(database.admin, database.name) : Promise.resolve([])),
    kill(i) {
      children[i]?.process.kill('SIGKILL');
    },
    async restart(i) {
      const old = children[i];
      if (old && old.process.exitCode === null && old.process.signalCode === null) {
        await new Promise((r) => old.process.once('exit', r));
      }
      await launch(i);
    },
    stop: cleanUp,
  };
}

/** `npm run build` in `root` (tsc -> dist/); rejects with the compiler's output when it fails. */
export async function buildServer(root = ROOT): Promise<number> {
  const started = Date.now();
  const child = spawn('npm', ['run', 'build'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const code = await new Promise<number | null>((r) => {
    child.once('error', (error) => {
      output += String(error);
      r(null);
    });
    child.once('exit', (c) => r(c));
  });
  spawned.delete(child);
  if (code !== 0) throw new Error(`npm run build failed in ${root} (exit ${code}):\n${output}`);
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error(`npm run build left no ${root}/dist/main.js`);
  return Date.now() - started;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the bare Socket.IO relay as its own process (so its CPU and RSS are measured like the server's). */
export async function startBaseline(): Promise<Target> {
  const port = await freePort();
  const child = await spawnReady(
    ['--import', 'tsx', 'bench/baseline-relay.ts', String(port)],
    {},
    /"relay":"(http:\/\/[^"]+)"/,
  );
  return {
    kind: 'baseline',
    description: 'bare Socket.IO relay (no auth, no storage)',
    urls: [child.url],
    pids: () => (child.process.pid && child.process.exitCode === null ? [child.process.pid] : []),
    dbPids: async () => [],
    kill: () => child.process.kill('SIGKILL'),
    restart: async () => {
      throw new Error('the relay is not restarted');
    },
    stop: () => stopChild(child.process),
  };
}
