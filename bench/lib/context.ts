// What every scenario gets: options, the target, a seeded-user pool, and helpers to sample the server.
import { cpuBetween, type ProcSample, round, sampleAll } from './proc.js';
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
  private db: number[] = [];
  private dbStart: ProcSample = sampleAll([]);
  constructor(private readonly target: Target) {
    this.start = sampleAll(target.pids());
  }
  async reset(): Promise<void> {
    this.db = await this.target.dbPids();
    this.dbStart = sampleAll(this.db);
    this.start = sampleAll(this.target.pids());
  }
  read(): {
    cpu_seconds: number;
    cores_busy: number;
    rss_mb: number;
    db_cpu_seconds: number;
    db_cores_busy: number;
  } {
    const now = sampleAll(this.target.pids());
    // Backends that went away during the phase drop out of the sum; the pool keeps them open under load.
    const db = cpuBetween(this.dbStart, sampleAll(this.db));
    return {
      ...cpuBetween(this.start, now),
      rss_mb: round(now.rssBytes / 1024 / 1024, 1),
      db_cpu_seconds: Math.max(0, db.cpu_seconds),
      db_cores_busy: Math.max(0, db.cores_busy),
    };
  }
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
