// What every scenario gets: options, the target, a seeded-user pool, and helpers to sample the server.
import { cpuBetween, type ProcSample, round, sampleAll, sampleProc } from './proc.js';
import type { ClientSpec } from './protocol.js';
import { type BenchConversation, type BenchUser, createDm, createGroup, seedUsers } from './seed.js';
import type { Mode, Target } from './server.js';

export interface Options {
  scenarios: string[];
  quick: boolean;
  baseline: boolean;
  mode: Mode;
  instances: number;
  workers: number;
  url?: string;
  pid?: number;
  databaseUrl: string;
  redisUrl: string;
  profile: boolean;
  /** name=value overrides of scenario parameters (e.g. groups=100). */
  params: Record<string, number>;
  serverEnv?: Record<string, string>;
  serverLog?: string;
  serverRoot?: string;
  /** Start the compiled server (`npm run build` once, then `node dist/main.js`) instead of tsx. */
  build?: boolean;
  resultsDir: string;
  tag: string;
}

export type Figures = Record<string, unknown>;

export interface ScenarioResult {
  parameters: Record<string, unknown>;
  figures: Figures;
  /** Headline figures for the summary table: label -> value. */
  headline: Record<string, string | number>;
  /** Ramp: points for the chart. */
  series?: Array<{ deliveries_per_s: number; p50_ms: number; p95_ms: number; p99_ms: number }>;
}

export interface ScenarioContext {
  options: Options;
  target: Target;
  /** The first `count` bench users (seeded through the API on first use; synthetic for the relay). */
  users(count: number): Promise<BenchUser[]>;
  /** Groups of the given sizes over distinct users starting at `offset` in the pool. */
  groups(sizes: number[], offset?: number): Promise<BenchConversation[]>;
  /** `pairs` DM conversations over distinct users starting at `offset` (for the relay: rooms of two). */
  dms(pairs: number, offset?: number): Promise<BenchConversation[]>;
  param(name: string, quick: number, full: number): number;
  log(message: string): void;
}

/** Seeds lazily and keeps what it seeded, so several scenarios in one run share users. */
export function createContext(options: Options, target: Target): ScenarioContext {
  const pool: BenchUser[] = [];
  let groupCounter = 0;
  const log = (message: string) =>
    console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const users = async (count: number) => {
    if (pool.length < count) {
      const missing = count - pool.length;
      if (target.kind === 'baseline') {
        for (let i = 0; i < missing; i++) {
          const n = pool.length;
          pool.push({ id: `u${n}`, username: `u${n}`, token: '' });
        }
      } else {
        const started = Date.now();
        log(`seeding ${missing} users through the API`);
        const more = await seedUsers(target.urls[0] as string, `${options.tag}_${pool.length}`, missing);
        pool.push(...more);
        log(`seeded ${missing} users in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
    return pool.slice(0, count);
  };
  /** Splits the pool from `offset` into conversations of the given sizes and creates them, 8 at a time. */
  const conversations = async (
    sizes: number[],
    offset: number,
    create: (base: string, members: BenchUser[]) => Promise<BenchConversation>,
  ): Promise<BenchConversation[]> => {
    const total = offset + sizes.reduce((a, b) => a + b, 0);
    const all = await users(total);
    let at = offset;
    const plan = sizes.map((size) => {
      const members = all.slice(at, at + size);
      at += size;
      return members;
    });
    if (target.kind === 'baseline') {
      return plan.map((members) => ({
        id: `c${groupCounter++}`,
        memberIds: members.map((m) => m.id),
        lastSeq: 0,
      }));
    }
    const base = target.urls[0] as string;
    const out: BenchConversation[] = [];
    let next = 0;
    const lane = async () => {
      while (next < plan.length) out.push(await create(base, plan[next++] as BenchUser[]));
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    return out;
  };
  return {
    options,
    target,
    users,
    groups(sizes, offset = 0) {
      return conversations(sizes, offset, (base, members) =>
        createGroup(base, members[0] as BenchUser, members, `bench ${groupCounter++}`),
      );
    },
    dms(pairs, offset = 0) {
      return conversations(
        Array.from({ length: pairs }, () => 2),
        offset,
        (base, [a, b]) => createDm(base, a as BenchUser, b as BenchUser),
      );
    },
    param(name, quick, full) {
      return options.params[name] ?? (options.quick ? quick : full);
    },
    log,
  };
}

/** One socket per member of each group; members send to their group when `sending`. */
export function groupClients(
  conversations: BenchConversation[],
  users: BenchUser[],
  sending: (memberIndex: number) => boolean,
): ClientSpec[] {
  const byId = new Map(users.map((u) => [u.id, u]));
  const clients: ClientSpec[] = [];
  for (const c of conversations) {
    c.memberIds.forEach((id, i) => {
      clients.push({
        userId: id,
        token: byId.get(id)?.token,
        conversations: [c.id],
        sendTo: sending(i) ? c.id : null,
        startSeq: { [c.id]: c.lastSeq },
      });
    });
  }
  return clients;
}

/** Server CPU and RSS between two moments of one phase, and the CPU of its PostgreSQL backends. */
export class ServerMeter {
  private start: ProcSample;
  /** Per backend pid: its CPU when the phase started (0 for one that connected during it) and when last seen. */
  private backends = new Map<number, { first: number; last: number }>();
  private phaseStart = Date.now();
  private poller: NodeJS.Timeout | undefined;
  constructor(private readonly target: Target) {
    this.start = sampleAll(target.pids());
  }
  async reset(): Promise<void> {
    this.stopPolling();
    this.backends.clear();
    await this.pollBackends(true);
    this.phaseStart = Date.now();
    this.start = sampleAll(this.target.pids());
    // The pool opens and closes backends under load: look for new ones every second, so a backend that
    // connected (or went away) during the phase still counts, up to when it was last seen.
    this.poller = setInterval(() => void this.pollBackends(false), 1000);
    this.poller.unref();
  }
  private async pollBackends(atStart: boolean): Promise<void> {
    for (const pid of await this.target.dbPids()) {
      const now = sampleProc(pid)?.cpuMicros;
      if (now === undefined) continue;
      const known = this.backends.get(pid);
      if (known) known.last = now;
      else this.backends.set(pid, { first: atStart ? now : 0, last: now });
    }
  }
  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }
  async read(): Promise<{
    cpu_seconds: number;
    cores_busy: number;
    rss_mb: number;
    db_cpu_seconds: number;
    db_cores_busy: number;
  }> {
    const now = sampleAll(this.target.pids());
    await this.pollBackends(false);
    // The phase is over: no more lookups (each one is a connection to PostgreSQL) until the next reset.
    this.stopPolling();
    let dbMicros = 0;
    for (const b of this.backends.values()) dbMicros += b.last - b.first;
    const dbSeconds = dbMicros / 1_000_000;
    const wall = Math.max(0.001, (Date.now() - this.phaseStart) / 1000);
    return {
      ...cpuBetween(this.start, now),
      rss_mb: round(now.rssBytes / 1024 / 1024, 1),
      db_cpu_seconds: round(Math.max(0, dbSeconds), 3),
      db_cores_busy: round(Math.max(0, dbSeconds / wall), 3),
    };
  }
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
