// The bench runner's pieces: percentile maths, content encoding, address spreading, reports, and a tiny fanout.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createContext, type Options, ServerMeter } from '../../bench/lib/context.js';
import { exactPercentile, Histogram, median } from '../../bench/lib/histogram.js';
import { type PacedLoadFigures, pacedLoad } from '../../bench/lib/paced-http.js';
import { cpuBetween, machineInfo, sampleProc } from '../../bench/lib/proc.js';
import { decodeContent, encodeContent } from '../../bench/lib/protocol.js';
import { markdownSummary, type RunRecord, rampSvg, ratios } from '../../bench/lib/report.js';
import { api } from '../../bench/lib/seed.js';
import { startTma, type Target } from '../../bench/lib/server.js';
import { LoadGenerator, sourceAddresses, spread } from '../../bench/lib/workers.js';
import { dm } from '../../bench/scenarios/dm.js';
import { fanout, type PhaseFigures } from '../../bench/scenarios/fanout.js';
import { files } from '../../bench/scenarios/files.js';
import { http } from '../../bench/scenarios/http.js';
import { stepLimits, stepPasses } from '../../bench/scenarios/ramp.js';
import { buildTestApp } from '../helpers/app.js';
import { listen } from '../helpers/sockets.js';

describe('Histogram', () => {
  it('matches exact percentiles within 1% over a wide range', () => {
    const h = new Histogram();
    const values: number[] = [];
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const v = Math.round(Math.exp((seed / 2 ** 31) * 14)); // 1 µs .. ~1.2 s, log-spread
      values.push(v);
      h.record(v);
    }
    for (const p of [50, 90, 95, 99, 99.9]) {
      const exact = exactPercentile(values, p);
      expect(Math.abs(h.percentile(p) - exact)).toBeLessThanOrEqual(Math.max(1, exact * 0.01));
    }
    expect(h.percentile(100)).toBe(Math.max(...values));
    expect(h.count).toBe(values.length);
  });

  it('is exact below 128 µs and reports min, max and mean', () => {
    const h = new Histogram();
    for (const v of [1, 2, 3, 4, 100]) h.record(v);
    expect(h.percentile(50)).toBe(3);
    expect(h.percentile(80)).toBe(4);
    const s = h.summary();
    expect(s).toMatchObject({ count: 5, min_ms: 0.001, max_ms: 0.1, mean_ms: 0.022 });
  });

  it('merges snapshots from several processes like one histogram', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) {
      (i % 2 ? a : b).record(i * 37);
      all.record(i * 37);
    }
    const merged = Histogram.from(a.snapshot()).merge(b.snapshot());
    expect(merged.summary()).toEqual(all.summary());
  });

  it('is all zeros when empty, and clamps negative values to zero', () => {
    expect(new Histogram().summary().p99_ms).toBe(0);
    const h = new Histogram();
    h.record(-5);
    expect(h.summary()).toMatchObject({ count: 1, max_ms: 0, p50_ms: 0 });
  });

  it('nearest-rank percentiles of small lists', () => {
    expect(exactPercentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(exactPercentile([5, 1, 3, 2, 4], 99)).toBe(5);
    expect(median([10, 30, 20, 40])).toBe(20);
    expect(exactPercentile([], 50)).toBe(0);
  });
});

describe('bench message content', () => {
  it('round-trips the phase and the send time', () => {
    expect(decodeContent(encodeContent(3, 1_700_000_000_123.456))).toEqual({
      phase: 3,
      sentAt: 1_700_000_000_123.456,
    });
  });

  it('ignores content that is not a bench message', () => {
    expect(decodeContent('hello')).toBeUndefined();
    expect(decodeContent(42)).toBeUndefined();
    expect(decodeContent('b|x|y')).toBeUndefined();
    expect(decodeContent('b|1')).toBeUndefined();
  });
});

describe('load spreading', () => {
  it('uses at least two source addresses and one more per 5,000 sockets', () => {
    expect(sourceAddresses(10)).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(sourceAddresses(12_000)).toHaveLength(3);
    expect(sourceAddresses(10_000_000)).toHaveLength(250);
  });

  it('spreads clients round-robin over workers and addresses', () => {
    const clients = Array.from({ length: 5 }, (_, i) => ({
      userId: `u${i}`,
      conversations: [],
      sendTo: null,
    }));
    const lanes = spread(clients, 2, ['127.0.0.2', '127.0.0.3']);
    expect(lanes.map((l) => l.map((c) => c.userId))).toEqual([
      ['u0', 'u2', 'u4'],
      ['u1', 'u3'],
    ]);
    expect(lanes[0]?.map((c) => c.localAddress)).toEqual(['127.0.0.2', '127.0.0.2', '127.0.0.2']);
    expect(lanes[1]?.map((c) => c.localAddress)).toEqual(['127.0.0.3', '127.0.0.3']);
  });
});

describe('process sampling', () => {
  it('reads CPU time and RSS of a live process and nothing of a missing one', () => {
    const a = sampleProc(process.pid);
    let x = 0;
    for (let i = 0; i < 5e6; i++) x += i;
    const b = sampleProc(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(a?.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(b && a && b.cpuMicros >= a.cpuMicros).toBe(true);
    expect(cpuBetween(a!, b!).cpu_seconds).toBeGreaterThanOrEqual(0);
    expect(sampleProc(2 ** 22 + 12_345)).toBeUndefined();
    expect(machineInfo().cpus).toBeGreaterThan(0);
  });
});

describe('server meter', () => {
  it('counts database backends that connect during a phase and keeps those that went away', async () => {
    let backends: number[] = [];
    // Whether a poll of the meter found a backend that had already used 0.3 s of CPU (the meter samples it
    // right after this lookup, so it has seen at least that much).
    let polledBusy = false;
    const target: Target = {
      kind: 'tma',
      description: 'meter test',
      urls: [],
      pids: () => [process.pid],
      dbPids: async () => {
        polledBusy ||= backends.some((pid) => (sampleProc(pid)?.cpuMicros ?? 0) > 300_000);
        return backends;
      },
      kill: () => undefined,
      restart: async () => undefined,
      stop: async () => undefined,
    };
    const meter = new ServerMeter(target);
    await meter.reset();
    // A "backend" that connects after the phase started, burns CPU until the 1 s poll has seen it busy, then exits.
    const busy = spawn(process.execPath, ['-e', 'for (;;);']);
    const exited = once(busy, 'exit');
    try {
      backends = [busy.pid as number];
      await vi.waitFor(() => expect(polledBusy).toBe(true), { timeout: 20_000, interval: 50 });
    } finally {
      busy.kill();
      await exited;
    }
    backends = [];
    const figures = await meter.read();
    expect(figures.db_cpu_seconds).toBeGreaterThan(0.2);
    expect(figures.db_cores_busy).toBeGreaterThan(0);
    expect(figures.cpu_seconds).toBeGreaterThanOrEqual(0);

    // A backend known at the start counts only what it used after it.
    backends = [process.pid];
    await meter.reset();
    const again = await meter.read();
    expect(again.db_cpu_seconds).toBeLessThan(0.5);
  });
});

describe('starting TMA for the bench', () => {
  it('leaves no data directory behind when the server does not start', async () => {
    const dirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('tma-bench-'));
    const before = new Set(dirs());
    await expect(
      startTma({
        mode: 'embedded',
        instances: 1,
        databaseUrl: 'postgres://unused',
        redisUrl: 'redis://unused',
        tag: 'refused',
        env: { PORT: 'not-a-port' },
      }),
    ).rejects.toThrow(/PORT/);
    expect(dirs().filter((name) => !before.has(name))).toEqual([]);
  });
});

describe('reports', () => {
  const record: RunRecord = {
    scenario: 'fanout',
    mode: 'embedded',
    started_at: '',
    finished_at: '',
    machine: machineInfo(),
    target: 't',
    options: {},
    parameters: {},
    figures: {},
    headline: { 'deliveries/s': 900, 'p99 ms': 12, lost: 0 },
    baseline: {
      target: 'relay',
      parameters: {},
      figures: {},
      headline: { 'deliveries/s': 1000, 'p99 ms': 3, lost: 0 },
    },
  };

  it('computes TMA/relay ratios of numeric figures the relay also has (never dividing by zero)', () => {
    expect(ratios(record.headline, record.baseline?.headline ?? {})).toEqual({
      'deliveries/s': 0.9,
      'p99 ms': 4,
    });
  });

  it('renders a markdown table with TMA, relay and ratio rows', () => {
    const md = markdownSummary([{ ...record, ratio_to_baseline: { 'deliveries/s': 0.9 } }]);
    expect(md).toContain('| run | deliveries/s | p99 ms | lost |');
    expect(md).toContain('| fanout (embedded) | 900 | 12 | 0 |');
    expect(md).toContain('| fanout (relay) | 1000 | 3 | 0 |');
    expect(md).toContain('| fanout TMA/relay | 0.9 |  |  |');
  });

  it('draws the ramp chart as standalone SVG with one line per percentile and series', () => {
    const points = [
      { deliveries_per_s: 100, p50_ms: 1, p95_ms: 3, p99_ms: 5 },
      { deliveries_per_s: 1000, p50_ms: 4, p95_ms: 40, p99_ms: 300 },
    ];
    const svg = rampSvg('ramp <test>', [
      { name: 'TMA', points },
      { name: 'relay', points },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(6);
    expect(svg).toContain('ramp &lt;test&gt;');
    expect(svg).not.toContain('NaN');
  });

  it('a ramp step passes only without loss, refusals or p99 over 250 ms', () => {
    const step = {
      latency: { p99_ms: 20 },
      lost: 0,
      ack_errors: {},
      unacknowledged: 0,
      messages_persisted_per_s: 100,
      offered_messages_per_s: 100,
    } as unknown as Parameters<typeof stepPasses>[0];
    expect(stepPasses(step)).toBe(true);
    expect(stepPasses({ ...step, lost: 1 })).toBe(false);
    expect(stepPasses({ ...step, latency: { ...step.latency, p99_ms: 251 } })).toBe(false);
    expect(stepPasses({ ...step, ack_errors: { rate_limited: 1 } })).toBe(false);
    expect(stepPasses({ ...step, messages_persisted_per_s: 50 })).toBe(false);
    expect(stepLimits({ ...step, lost: 2, latency: { ...step.latency, p99_ms: 300 } })).toEqual([
      'p99 300 ms > 250 ms',
      '2 lost',
    ]);
  });
});

describe('paced HTTP load', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
  });

  /** A local server; `handle` answers (or holds) each request. Counts the connections it accepted. */
  async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
    const server = createServer(handle);
    servers.push(server);
    const stats = { connections: 0 };
    server.on('connection', () => {
      stats.connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, stats };
  }

  it('sends rate x duration requests over keep-alive sockets and counts statuses', async () => {
    let n = 0;
    const { url, stats } = await serve((_req, res) => {
      res.statusCode = n++ % 4 === 3 ? 503 : 200;
      res.end('{}');
    });
    const f = await pacedLoad({ url, rate: 40, durationS: 0.5, sockets: 2 });
    expect(f).toMatchObject({ offered: 20, sent: 20, dropped: 0, requests: 20, errors: 0, timeouts: 0 });
    expect(f.non_2xx).toBe(5);
    expect(f.latency.count).toBe(20);
    expect(f.offered_per_s).toBe(40);
    expect(f.generator_cpu_seconds).toBeGreaterThan(0);
    expect(stats.connections).toBeLessThanOrEqual(2);
  });

  it('charges a stall to every request due during it, from its due time, and drops beyond the cap', async () => {
    // Holds every request until the whole schedule (20 requests over 0.5 s) has passed.
    const held: ServerResponse[] = [];
    let released = false;
    const { url, stats } = await serve((_req, res) => {
      if (released) res.end('{}');
      else held.push(res);
    });
    const release = setTimeout(() => {
      released = true;
      for (const res of held) res.end('{}');
    }, 600);
    // 2 sockets, 5 out at most: 2 reach the server, 3 wait in the client, the other 15 are dropped.
    const f = await pacedLoad({ url, rate: 40, durationS: 0.5, sockets: 2, maxInFlight: 5 });
    clearTimeout(release);
    expect(f).toMatchObject({ offered: 20, sent: 5, dropped: 15, requests: 5, peak_in_flight: 5 });
    // The last of the five was due at 100 ms and answered after the 600 ms hold: even the three that
    // waited in the client for a socket are charged from when they were due, not from when they went out.
    expect(f.latency.min_ms).toBeGreaterThanOrEqual(450);
    expect(stats.connections).toBe(2);
  });

  it('counts connection failures as errors and unanswered requests as timeouts', async () => {
    const { url } = await serve(() => undefined);
    const timedOut = await pacedLoad({ url, rate: 20, durationS: 0.2, timeoutMs: 150 });
    expect(timedOut).toMatchObject({ offered: 4, sent: 4, timeouts: 4, errors: 0, requests: 0 });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await pacedLoad({ url: `http://127.0.0.1:${port}/`, rate: 20, durationS: 0.2 });
    expect(refused).toMatchObject({ offered: 4, sent: 4, errors: 4, timeouts: 0, requests: 0 });
    expect(refused.served_per_s).toBe(0);
  });
});

describe('tiny fanout and dm runs against an in-process server', () => {
  const gens: LoadGenerator[] = [];
  afterAll(async () => {
    for (const g of gens) await g.close();
  });

  async function setup(params: Record<string, number>, env: Record<string, string> = {}) {
    const app = await buildTestApp({ SOCKET_MESSAGES_PER_SECOND: '1000', ...env });
    const url = await listen(app);
    const target: Target = {
      kind: 'tma',
      description: 'in-process test app',
      urls: [url],
      pids: () => [process.pid],
      dbPids: async () => [],
      kill: () => undefined,
      restart: async () => undefined,
      stop: async () => undefined,
    };
    const options: Options = {
      scenarios: [],
      quick: true,
      baseline: false,
      mode: 'embedded',
      instances: 1,
      workers: 1,
      databaseUrl: '',
      redisUrl: '',
      profile: false,
      params,
      resultsDir: '/tmp',
      tag: `t${Date.now().toString(36)}`,
    };
    const gen = LoadGenerator.start(1);
    gens.push(gen);
    return { url, ctx: createContext(options, target), gen };
  }

  it('fanout delivers every persisted message to every other member and measures it', async () => {
    const { ctx, gen } = await setup({
      groups: 2,
      size: 3,
      interval: 400,
      duration: 2,
      warmup: 0,
      drain: 1000,
    });
    const result = await fanout(ctx, gen);
    const f = result.figures as unknown as PhaseFigures & { connect: { ok: number } };
    expect(f.connect.ok).toBe(6);
    expect(f.messages_persisted).toBeGreaterThan(0);
    expect(f.deliveries_expected).toBe(f.messages_persisted * 2);
    expect(f.deliveries_received).toBe(f.deliveries_expected);
    expect(f.lost).toBe(0);
    expect(f.latency.count).toBe(f.deliveries_received);
    expect(f.latency.p99_ms).toBeGreaterThan(0);
    expect(result.headline.lost).toBe(0);
  }, 60_000);

  it('dm runs pairs in DM conversations, one delivery per message, stepping the rate', async () => {
    const { url, ctx, gen } = await setup({
      pairs: 2,
      rate: 8,
      factor: 2,
      steps: 2,
      duration: 1,
      warmup: 0,
      drain: 500,
    });
    const result = await dm(ctx, gen);
    const f = result.figures as {
      connect: { ok: number };
      steps: PhaseFigures[];
      limit: string[] | null;
    };
    expect(f.connect.ok).toBe(4);
    expect(result.parameters).toMatchObject({ pairs: 2, sockets: 4, start_interval_ms: 500 });
    const first = f.steps[0] as PhaseFigures;
    expect(first.offered_messages_per_s).toBe(8);
    expect(first.messages_persisted).toBeGreaterThan(0);
    // One other member per conversation: a delivery per persisted message.
    expect(first.deliveries_expected).toBe(first.messages_persisted);
    expect(first.deliveries_received).toBe(first.deliveries_expected);
    expect(first.lost).toBe(0);
    expect(first.server_cpu_us_per_message).toBeGreaterThan(0);
    if (f.limit === null) expect(f.steps.map((s) => s.offered_messages_per_s)).toEqual([8, 16]);
    expect(result.series).toHaveLength(f.steps.length);
    const [user] = await ctx.users(1);
    const list = await api<Array<{ type: string }>>(url, 'GET', '/conversations', undefined, user?.token);
    expect(list.map((c) => c.type)).toEqual(['dm']);
  }, 60_000);

  it('http paces both endpoints at the offered rate and answers every request', async () => {
    const { ctx } = await setup({
      rate: 40,
      duration: 1,
      warmup: 1,
      conversations: 2,
      history: 5,
      members: 2,
    });
    const result = await http(ctx);
    const endpoints = (result.figures as { endpoints: PacedLoadFigures[] }).endpoints;
    expect(endpoints).toHaveLength(2);
    for (const e of endpoints) {
      expect(e).toMatchObject({ offered: 40, sent: 40, dropped: 0, requests: 40, non_2xx: 0, errors: 0 });
      expect(e.latency.count).toBe(40);
      expect(e.latency.p99_ms).toBeGreaterThan(0);
    }
    // The warm-up's requests are not counted.
    expect(result.parameters).toMatchObject({ rate: 40, warmup_s: 1, sockets: 32, max_in_flight: 40 });
    expect(result.headline).toMatchObject({ 'non-2xx': 0, dropped: 0, 'errors + timeouts': 0 });
  }, 60_000);

  it('files signs upload URLs at the offered rate, completes real images and waits for every thumbnail', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tma-bench-files-'));
    try {
      const { ctx } = await setup(
        { rate: 20, duration: 1, warmup: 0, images: 3, concurrency: 2, bytes: 20_000 },
        {
          DATA_DIR: dataDir,
          STORAGE_DRIVER: 'local',
          UPLOADS_PER_MINUTE: '1000',
          JOB_POLL_INTERVAL_MS: '500',
        },
      );
      const result = await files(ctx);
      const f = result.figures as {
        signing: PacedLoadFigures;
        complete: { latency: { count: number }; per_s: number };
        thumbnails: { made: number; missing: number; per_s: number };
      };
      expect(f.signing).toMatchObject({ offered: 20, sent: 20, requests: 20, non_2xx: 0, errors: 0 });
      expect(f.complete.latency.count).toBe(3);
      expect(f.thumbnails).toMatchObject({ made: 3, missing: 0 });
      expect(f.thumbnails.per_s).toBeGreaterThan(0);
      expect(result.parameters.image_bytes).toBeGreaterThan(20_000);
      expect(result.headline['thumbnails missing']).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
