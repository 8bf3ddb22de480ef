// http: conversation list and history at an evenly paced, open-loop request rate; p50/p95/p99 from the schedule.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import { type PacedLoadFigures, pacedLoad } from '../lib/paced-http.js';
import { api, type BenchUser, createGroup, pool } from '../lib/seed.js';

interface EndpointFigures extends PacedLoadFigures {
  path: string;
  rate: number;
  server_cores_busy: number;
}

export async function http(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rate = ctx.param('rate', 200, 500);
  const durationS = ctx.param('duration', 8, 30);
  const conversationCount = ctx.param('conversations', 20, 50);
  const historySize = ctx.param('history', 200, 1000);
  const members = ctx.param('members', 10, 10);
  const sockets = ctx.param('sockets', 32, 32);
  // Not measured: the first responses of a route compile its serializer, and the pool opens its sockets.
  const warmupS = ctx.param('warmup', 2, 3);
  // One second of requests may be out at once: a stall up to a second is charged, longer ones drop requests.
  const maxInFlight = ctx.param('inflight', Math.max(sockets, rate), Math.max(sockets, rate));
  const base = ctx.target.urls[0] as string;
  const users = await ctx.users(members);
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
    ctx.log(`http: GET ${path} at ${rate} req/s for ${durationS} s (after ${warmupS} s of warm-up)`);
    const load = {
      url: `${base}/api/v1${path}`,
      headers: { authorization: `Bearer ${owner.token}` },
      rate,
      sockets,
      maxInFlight,
    };
    if (warmupS > 0) await pacedLoad({ ...load, durationS: warmupS });
    await meter.reset();
    const figures = await pacedLoad({
      url: `${base}/api/v1${path}`,
      headers: { authorization: `Bearer ${owner.token}` },
      rate,
      durationS,
      sockets,
      maxInFlight,
    });
    endpoints.push({
      path,
      rate,
      ...figures,
      server_cores_busy: (await meter.read()).cores_busy,
    });
  }
  const [list, history] = endpoints as [EndpointFigures, EndpointFigures];
  return {
    parameters: {
      rate,
      duration_s: durationS,
      warmup_s: warmupS,
      conversations: conversationCount,
      history: historySize,
      members,
      sockets,
      max_in_flight: maxInFlight,
    },
    figures: { endpoints },
    headline: {
      'list p50 ms': list.latency.p50_ms,
      'list p95 ms': list.latency.p95_ms,
      'list p99 ms': list.latency.p99_ms,
      'history p50 ms': history.latency.p50_ms,
      'history p95 ms': history.latency.p95_ms,
      'history p99 ms': history.latency.p99_ms,
      'list served/s': list.served_per_s,
      'history served/s': history.served_per_s,
      'non-2xx': list.non_2xx + history.non_2xx,
      'errors + timeouts': list.errors + list.timeouts + history.errors + history.timeouts,
      dropped: list.dropped + history.dropped,
    },
  };
}
