// channels: outbound SMS through two provider simulators (children of the bench, Twilio-compatible A then B).
// 1. Paced POST /channels/messages (each with its own Idempotency-Key, to rotating customers): accepted sends/s
//    with the API's p50/p99, and how fast the send job hands them over (messages simulator A received/s).
// 2. Sends to one customer at a low rate, each timed from its request to its `sent` event: with both simulators
//    up, then with A down (the failover to B: retries and backoff on A until its circuit opens, then straight to B).
// The simulators send no status callbacks here, so the figures are the send path alone.
import { randomBytes } from 'node:crypto';
import { type ScenarioContext, type ScenarioResult, ServerMeter, wait } from '../lib/context.js';
import { Histogram } from '../lib/histogram.js';
import { pacedLoad } from '../lib/paced-http.js';
import { round } from '../lib/proc.js';
import { api, type BenchUser } from '../lib/seed.js';
import { freePort, spawnReady } from '../lib/server.js';

interface Simulator {
  url: string;
  stop(): Promise<void>;
}

interface Stats {
  requests: { twilio: number; sendgrid: number };
  messages: { sms: number; email: number };
}

interface ChannelMessage {
  id: string;
  conversation_id: string;
  status: string;
  provider: string | null;
  events?: Array<{ status: string; created_at: string }>;
}

const ADMIN = { username: 'bench_channels_admin', password: randomBytes(12).toString('hex') };
const ACCOUNT_SID = 'AC00000000000000000000000000000001';
const AUTH_TOKEN = 'simulator-auth-token';
let simulators: Simulator[] = [];

async function startSimulator(): Promise<Simulator> {
  const port = await freePort();
  const child = await spawnReady(
    ['--import', 'tsx', 'src/providers-simulator/main.ts'],
    { PROVIDERS_SIM_PORT: String(port), PROVIDERS_SIM_AUTO_CALLBACKS: 'false', NODE_ENV: 'development' },
    /listening on (http:\/\/\S+)/,
    60_000,
  );
  return {
    url: child.url,
    async stop() {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      const exited = new Promise((r) => child.process.once('exit', r));
      child.process.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts simulators A and B and answers the server environment that sends through them (A first). */
export async function channelsServerEnv(): Promise<Record<string, string>> {
  simulators = [await startSimulator(), await startSimulator()];
  const providers = simulators.map((sim, i) => ({
    name: `sim-${'ab'[i]}`,
    kind: 'twilio',
    channels: ['sms', 'mms'],
    base_url: sim.url,
    account_sid: ACCOUNT_SID,
    auth_token: AUTH_TOKEN,
  }));
  return {
    CHANNEL_PROVIDERS: JSON.stringify(providers),
    // Nothing calls back here (no status callbacks in this scenario); PUBLIC_URL is required with providers.
    PUBLIC_URL: 'http://127.0.0.1:9',
    CHANNEL_SENDS_PER_MINUTE: '1000000',
    TMA_ADMIN_USERNAME: ADMIN.username,
    TMA_ADMIN_PASSWORD: ADMIN.password,
  };
}

export async function stopChannelSimulators(): Promise<void> {
  await Promise.all(simulators.map((s) => s.stop()));
  simulators = [];
}

async function simStats(sim: Simulator): Promise<Stats> {
  return (await fetch(`${sim.url}/dev/stats`)).json() as Promise<Stats>;
}

async function setFaults(sim: Simulator, faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sim.url}/dev/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!res.ok) throw new Error(`simulator faults: ${res.status}`);
}

/** Polls A and B until they received `expected` messages together (or `timeoutMs`); when the last one arrived. */
async function drain(
  expected: number,
  started: number,
  timeoutMs: number,
): Promise<{ received: number; last_at_s: number }> {
  const deadline = performance.now() + timeoutMs;
  let received = 0;
  let lastAt = started;
  for (;;) {
    const counts = await Promise.all(simulators.map(simStats));
    const now = counts.reduce((sum, c) => sum + c.messages.sms, 0);
    if (now !== received) {
      received = now;
      lastAt = performance.now();
    }
    if (received >= expected || performance.now() > deadline) break;
    await wait(50);
  }
  return { received, last_at_s: (lastAt - started) / 1000 };
}

export async function channels(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (simulators.length < 2)
    throw new Error('channels needs the simulators the bench starts (not with --url)');
  const rate = ctx.param('rate', 50, 100);
  const durationS = ctx.param('duration', 8, 30);
  const customers = ctx.param('customers', 50, 200);
  const timedCount = ctx.param('timed', 40, 150);
  const timedRate = ctx.param('timed_rate', 5, 5);
  const base = ctx.target.urls[0] as string;
  const [agent] = (await ctx.users(1)) as [BenchUser];
  const admin = await api<{ access_token: string }>(base, 'POST', '/auth/login', ADMIN);
  const team = `+1555${String(Date.now()).slice(-7)}`;
  await api(
    base,
    'POST',
    '/channels/inboxes',
    { channel: 'sms', address: team, name: 'Bench', member_ids: [agent.id] },
    admin.access_token,
  );
  const [simA] = simulators as [Simulator, Simulator];
  const meter = new ServerMeter(ctx.target);
  const before = await Promise.all(simulators.map(simStats));
  const receivedBefore = before.reduce((sum, c) => sum + c.messages.sms, 0);

  // 1. Healthy providers: paced sends, each its own key, to `customers` rotating numbers.
  ctx.log(`channels: ${rate} sends/s for ${durationS} s to ${customers} customers`);
  await meter.reset();
  const phaseStart = performance.now();
  const sends = await pacedLoad({
    url: `${base}/api/v1/channels/messages`,
    method: 'POST',
    headers: { authorization: `Bearer ${agent.token}` },
    rate,
    durationS,
    sockets: 32,
    requestFor: (i) => ({
      headers: { 'idempotency-key': `${ctx.options.tag}-s-${i}` },
      body: {
        channel: 'sms',
        from: team,
        to: `+1555${String(2_000_000 + (i % customers)).padStart(7, '0')}`,
        body: `Your order ${i} shipped`,
      },
    }),
  });
  const accepted = sends.requests - sends.non_2xx;
  const drained = await drain(accepted, phaseStart, 120_000);
  const sendCpu = await meter.read();
  const received = drained.received - receivedBefore;

  // 2. Send -> `sent`, each send timed from its request to its `sent` event: providers healthy, then A down.
  const timed = { base, agent, team, tag: ctx.options.tag, count: timedCount, rate: timedRate };
  ctx.log(`channels: ${timedCount} timed sends at ${timedRate}/s, providers healthy`);
  const healthy = await timedSends({ ...timed, label: 'h', customer: '+15553999998' });
  ctx.log(`channels: simulator A down, ${timedCount} timed sends at ${timedRate}/s`);
  await setFaults(simA, { down: true });
  let failover: TimedFigures;
  try {
    failover = await timedSends({ ...timed, label: 'f', customer: '+15553999999' });
  } finally {
    await setFaults(simA, { down: false });
  }
  const receivedPerS = round(received / Math.max(0.001, drained.last_at_s));
  return {
    parameters: {
      rate,
      duration_s: durationS,
      customers,
      timed_sends: timedCount,
      timed_rate: timedRate,
      providers: 'two Twilio-compatible simulators (child processes), default timeout, retries and breaker',
      callbacks: 'off',
    },
    figures: {
      sends: { ...sends, accepted, server: sendCpu },
      provider: {
        received,
        seconds_to_last: round(drained.last_at_s, 2),
        received_per_s: receivedPerS,
        backlog_after_sends_s: round(Math.max(0, drained.last_at_s - sends.elapsed_s), 2),
      },
      send_to_sent_healthy: healthy,
      send_to_sent_a_down: failover,
    },
    headline: {
      'sends/s offered': sends.offered_per_s,
      'accepted/s': sends.served_per_s,
      'send p50 ms': sends.latency.p50_ms,
      'send p99 ms': sends.latency.p99_ms,
      'non-2xx + errors + dropped': sends.non_2xx + sends.errors + sends.timeouts + sends.dropped,
      'provider received/s': receivedPerS,
      'send->sent p50 ms': healthy.latency.p50_ms,
      'A down: send->sent p50 ms': failover.latency.p50_ms,
      'A down: p99 ms': failover.latency.p99_ms,
      'A down: first ms': failover.first_message_ms ?? 'n/a',
    },
  };
}

interface TimedFigures {
  sent: number;
  not_done: number;
  by_provider: Record<string, number>;
  /** The first send of the run (while A is down: the one that pays A's retries and backoff). */
  first_message_ms: number | undefined;
  latency: ReturnType<Histogram['summary']>;
}

/**
 * `count` sends to one customer at `rate`/s; each is timed from the client's request to the `sent` event the
 * server recorded (same clock), read from the conversation's channel messages once all are sent or failed.
 */
async function timedSends(o: {
  base: string;
  agent: BenchUser;
  team: string;
  tag: string;
  count: number;
  rate: number;
  label: string;
  customer: string;
}): Promise<TimedFigures> {
  const startedAt = new Map<string, number>();
  let conversationId = '';
  const t0 = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < o.count; i++) {
    const delay = t0 + (i * 1000) / o.rate - performance.now();
    if (delay > 0) await wait(delay);
    inFlight.push(
      (async () => {
        const sentAt = Date.now();
        const res = await fetch(`${o.base}/api/v1/channels/messages`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${o.agent.token}`,
            'content-type': 'application/json',
            'idempotency-key': `${o.tag}-${o.label}-${i}`,
          },
          body: JSON.stringify({ channel: 'sms', from: o.team, to: o.customer, body: `Timed ${i}` }),
        });
        const json = (await res.json()) as { data?: ChannelMessage };
        if (res.status === 202 && json.data) {
          startedAt.set(json.data.id, sentAt);
          conversationId = json.data.conversation_id;
        }
      })(),
    );
  }
  await Promise.all(inFlight);
  const deadline = Date.now() + 120_000;
  const done = new Map<string, ChannelMessage>();
  while (done.size < startedAt.size && Date.now() < deadline) {
    let cursor: string | undefined;
    do {
      const query = `conversation_id=${conversationId}&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await fetch(`${o.base}/api/v1/channels/messages?${query}`, {
        headers: { authorization: `Bearer ${o.agent.token}` },
      });
      const page = (await res.json()) as {
        data: ChannelMessage[];
        pagination?: { next_cursor: string | null };
      };
      for (const m of page.data) {
        if (startedAt.has(m.id) && (m.status === 'sent' || m.status === 'failed')) done.set(m.id, m);
      }
      cursor = page.pagination?.next_cursor ?? undefined;
    } while (cursor);
    if (done.size < startedAt.size) await wait(200);
  }
  const latency = new Histogram();
  const byProvider: Record<string, number> = {};
  const perMessage = new Map<string, number>();
  for (const [id, m] of done) {
    const key = m.provider ?? m.status;
    byProvider[key] = (byProvider[key] ?? 0) + 1;
    const sent = m.events?.find((e) => e.status === 'sent');
    if (!sent) continue;
    const ms = Date.parse(sent.created_at) - (startedAt.get(id) as number);
    perMessage.set(id, ms);
    latency.record(Math.max(0, ms) * 1000);
  }
  // Ids are UUIDv7: the smallest is the first message of the run.
  const firstId = [...perMessage.keys()].sort()[0];
  return {
    sent: perMessage.size,
    not_done: startedAt.size - done.size,
    by_provider: byProvider,
    first_message_ms: firstId ? perMessage.get(firstId) : undefined,
    latency: latency.summary(),
  };
}
