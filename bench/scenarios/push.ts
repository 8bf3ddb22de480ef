// push: the fanout shape with every recipient offline and one FCM device each, against an FCM HTTP v1 stand-in in
// this process (OAuth2 token endpoint + messages:send). Two phases with the same paced sends (HTTP, one sender per
// group): without devices, then with a device for every other member. Pushes/s, send -> push latency, and the
// server CPU per message and per delivery in both phases (the target: < 5% more per delivery with devices).
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ScenarioContext, type ScenarioResult, ServerMeter, wait } from '../lib/context.js';
import { pacedLoad } from '../lib/paced-http.js';
import { round } from '../lib/proc.js';
import { api, type BenchUser, pool } from '../lib/seed.js';

const PROJECT = 'tma-bench';

/** The FCM stand-in: counts pushes and keeps, per push, when it arrived and the message it names. */
class FcmStandIn {
  pushes = 0;
  tokens = 0;
  readonly arrivals: Array<{ at: number; messageId: string }> = [];
  private server: Server | undefined;
  private account = '';
  base = '';

  async start(): Promise<void> {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.account = JSON.stringify({
      type: 'service_account',
      project_id: PROJECT,
      client_email: `push@${PROJECT}.iam.gserviceaccount.com`,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        if (req.url === '/token') {
          this.tokens++;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'bench-token', expires_in: 3600, token_type: 'Bearer' }));
          return;
        }
        if (req.url === `/v1/projects/${PROJECT}/messages:send` && req.method === 'POST') {
          this.pushes++;
          const body = JSON.parse(text) as { message?: { data?: Record<string, string> } };
          this.arrivals.push({ at: performance.now(), messageId: body.message?.data?.message_id ?? '' });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ name: `projects/${PROJECT}/messages/${this.pushes}` }));
          return;
        }
        res.writeHead(404).end();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  env(): Record<string, string> {
    return {
      FCM_SERVICE_ACCOUNT: this.account,
      FCM_BASE_URL: this.base,
      FCM_TOKEN_URL: `${this.base}/token`,
      // One push per message and device: the cost of a delivery, not of a coalesced burst.
      PUSH_COALESCE_MS: '0',
    };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

let standIn: FcmStandIn | undefined;

/** Starts the stand-in before the server: the server reads FCM_* at start. */
export async function pushServerEnv(): Promise<Record<string, string>> {
  if (!standIn) {
    standIn = new FcmStandIn();
    await standIn.start();
  }
  return standIn.env();
}

export async function stopPushStandIn(): Promise<void> {
  await standIn?.stop();
  standIn = undefined;
}

interface PhaseResult {
  persisted: number;
  api_p50_ms: number;
  api_p99_ms: number;
  server_cpu_seconds: number;
  server_cpu_us_per_message: number;
  server_cpu_us_per_delivery: number;
  db_cpu_us_per_message: number;
  window_s: number;
}

export async function push(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fcm = standIn;
  if (!fcm) throw new Error('push: the FCM stand-in is not running (bench/run.ts starts it)');
  const groups = ctx.param('groups', 20, 100);
  const size = ctx.param('size', 10, 10);
  const rate = ctx.param('rate', 40, 100);
  const durationS = ctx.param('duration', 10, 20);
  const drainS = ctx.param('drain', 15, 30);
  const base = ctx.target.urls[0] as string;
  const users = (await ctx.users(groups * size)) as BenchUser[];
  const byId = new Map(users.map((u) => [u.id, u]));
  const convs = await ctx.groups(Array.from({ length: groups }, () => size));
  const recipients = size - 1;
  ctx.log(
    `push: ${groups} groups of ${size}, ${rate} msg/s over HTTP for ${durationS} s, every recipient offline`,
  );
  const meter = new ServerMeter(ctx.target);

  /** Paced sends, then waits until `done(persisted)` holds or the drain runs out; the CPU window covers both. */
  const phase = async (
    label: string,
    done: (persisted: number) => boolean,
    drain: number,
  ): Promise<PhaseResult> => {
    await meter.reset();
    const started = performance.now();
    const loads = await Promise.all(
      convs.map((conv) => {
        const sender = byId.get(conv.memberIds[0] as string) as BenchUser;
        return pacedLoad({
          url: `${base}/api/v1/conversations/${conv.id}/messages`,
          method: 'POST',
          headers: { authorization: `Bearer ${sender.token}` },
          body: { content: `push bench ${label}` },
          rate: rate / groups,
          durationS,
          sockets: 2,
        });
      }),
    );
    const persisted = loads.reduce((n, l) => n + (l.requests - l.non_2xx), 0);
    // Delivery runs in jobs after the answers: wait for the pushes (a fixed drain when none are expected).
    const deadline = Date.now() + drain * 1000;
    while (!done(persisted) && Date.now() < deadline) await wait(100);
    const server = await meter.read();
    const windowS = (performance.now() - started) / 1000;
    const p50s = loads.map((l) => l.latency.p50_ms).sort((a, b) => a - b);
    const deliveries = persisted * recipients;
    return {
      persisted,
      api_p50_ms: p50s[Math.floor(p50s.length / 2)] ?? 0,
      api_p99_ms: round(Math.max(...loads.map((l) => l.latency.p99_ms)), 1),
      server_cpu_seconds: server.cpu_seconds,
      server_cpu_us_per_message: persisted ? round((server.cpu_seconds * 1e6) / persisted, 1) : 0,
      server_cpu_us_per_delivery: deliveries ? round((server.cpu_seconds * 1e6) / deliveries, 1) : 0,
      db_cpu_us_per_message: persisted ? round((server.db_cpu_seconds * 1e6) / persisted, 1) : 0,
      window_s: round(windowS, 1),
    };
  };

  // Warm-up: a short burst so both phases run on a warm server.
  // Both phases get the same CPU window: the sends and then `settleS` seconds (the pushes arrive within it).
  const settleS = ctx.param('settle', 5, 5);
  await phase('warm-up', () => false, 2);
  const without = await phase('without devices', () => false, settleS);
  ctx.log(
    `push: without devices ${without.persisted} messages, ${without.server_cpu_us_per_message} µs/message`,
  );

  ctx.log(`push: registering a device for each of ${groups * recipients} recipients`);
  const recipientIds = convs.flatMap((c) => c.memberIds.slice(1));
  await pool(recipientIds, 8, (id) =>
    api(
      base,
      'POST',
      '/devices',
      { platform: 'android', push: { token: `bench-device-${id}` }, name: 'bench' },
      (byId.get(id) as BenchUser).token,
    ),
  );
  await wait(2000);

  const before = fcm.pushes;
  const firstArrival = fcm.arrivals.length;
  const sendStart = performance.now();
  const withDevices = await phase('with devices', () => false, settleS);
  const expected = withDevices.persisted * recipients;
  const deadline = Date.now() + drainS * 1000;
  while (fcm.pushes - before < expected && Date.now() < deadline) await wait(100);
  const pushed = fcm.pushes - before;
  const arrivals = fcm.arrivals.slice(firstArrival);
  const lastAt = arrivals.at(-1)?.at ?? sendStart;
  const pushSpanS = Math.max(0.001, (lastAt - sendStart) / 1000);
  const drainAfterSendsS = Math.max(0, (lastAt - sendStart) / 1000 - durationS);
  const inWindow = arrivals.filter((a) => a.at - sendStart <= withDevices.window_s * 1000).length;
  const added = withDevices.server_cpu_us_per_delivery - without.server_cpu_us_per_delivery;
  const figures = {
    groups,
    size,
    offered_messages_per_s: rate,
    duration_s: durationS,
    recipients_per_message: recipients,
    without_devices: without,
    with_devices: withDevices,
    pushes_expected: expected,
    pushes_received: pushed,
    pushes_missing: Math.max(0, expected - pushed),
    /** Pushes inside the measured CPU window; fewer than expected makes the per-delivery CPU a lower bound. */
    pushes_in_cpu_window: inWindow,
    pushes_per_s: round(pushed / pushSpanS, 1),
    last_push_after_sends_s: round(drainAfterSendsS, 2),
    fcm_token_requests: fcm.tokens,
    added_cpu_us_per_delivery: round(added, 1),
    added_cpu_percent_per_delivery: without.server_cpu_us_per_delivery
      ? round((added / without.server_cpu_us_per_delivery) * 100, 1)
      : 0,
  };
  return {
    parameters: { groups, size, rate, duration: durationS },
    figures,
    headline: {
      'msg/s': rate,
      'pushes/s': figures.pushes_per_s,
      missing: figures.pushes_missing,
      'µs/delivery (no devices)': without.server_cpu_us_per_delivery,
      'µs/delivery (devices)': withDevices.server_cpu_us_per_delivery,
      'added %': figures.added_cpu_percent_per_delivery,
    },
  };
}
