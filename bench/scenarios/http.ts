// http: conversation list and history at a fixed request rate (autocannon); p50/p95/p99.
import autocannon, { type Result } from 'autocannon';
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import { Histogram } from '../lib/histogram.js';
import { api, type BenchUser, createGroup, pool } from '../lib/seed.js';

interface EndpointFigures {
  path: string;
  rate: number;
  requests: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  latency: ReturnType<Histogram['summary']>;
  autocannon_latency_ms: { p50: number; p97_5: number; p99: number; max: number };
  server_cores_busy: number;
}

function load(url: string, token: string, rate: number, durationS: number) {
  const histogram = new Histogram();
  return new Promise<{ histogram: Histogram; result: Result }>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        headers: { authorization: `Bearer ${token}` },
        connections: 10,
        duration: durationS,
        overallRate: rate,
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve({ histogram, result })),
    );
    instance.on('response', (_client, _status, _bytes, ms) => histogram.record(ms * 1000));
  });
}

export async function http(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rate = ctx.param('rate', 200, 500);
  const durationS = ctx.param('duration', 8, 30);
  const conversationCount = ctx.param('conversations', 20, 50);
  const historySize = ctx.param('history', 200, 1000);
  const base = ctx.target.urls[0] as string;
  const users = await ctx.users(10);
  const [owner, ...others] = users as [BenchUser, ...BenchUser[]];
  ctx.log(`http: seeding ${conversationCount} conversations and ${historySize} messages`);
  const conversations = await pool(
    Array.from({ length: conversationCount }, (_, i) => i),
    8,
    (i) => createGroup(base, owner, [owner, ...others], `http ${i}`),
  );
  const first = conversations[0];
  if (!first) throw new Error('no conversation');
  await pool(
    Array.from({ length: historySize }, (_, i) => i),
    8,
    (i) =>
      api(
        base,
        'POST',
        `/conversations/${first.id}/messages`,
        { content: `history ${i}`, client_id: crypto.randomUUID() },
        owner.token,
      ),
  );
  const meter = new ServerMeter(ctx.target);
  const endpoints: EndpointFigures[] = [];
  for (const path of ['/conversations', `/conversations/${first.id}/messages?limit=50`]) {
    ctx.log(`http: GET ${path} at ${rate} req/s for ${durationS} s`);
    await meter.reset();
    const { histogram, result } = await load(`${base}/api/v1${path}`, owner.token, rate, durationS);
    endpoints.push({
      path,
      rate,
      requests: result.requests.total,
      non_2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latency: histogram.summary(),
      autocannon_latency_ms: {
        p50: result.latency.p50,
        p97_5: result.latency.p97_5,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      server_cores_busy: meter.read().cores_busy,
    });
  }
  const [list, history] = endpoints as [EndpointFigures, EndpointFigures];
  return {
    parameters: {
      rate,
      duration_s: durationS,
      conversations: conversationCount,
      history: historySize,
      connections: 10,
    },
    figures: { endpoints },
    headline: {
      'list p50 ms': list.latency.p50_ms,
      'list p95 ms': list.latency.p95_ms,
      'list p99 ms': list.latency.p99_ms,
      'history p50 ms': history.latency.p50_ms,
      'history p95 ms': history.latency.p95_ms,
      'history p99 ms': history.latency.p99_ms,
      'non-2xx': list.non_2xx + history.non_2xx,
    },
  };
}
