// fanout: G groups of S members, each member sending every T ms for D s; latency at every other member.
import {
  groupClients,
  type ScenarioContext,
  type ScenarioResult,
  ServerMeter,
  wait,
} from '../lib/context.js';
import { round } from '../lib/proc.js';
import type { LoadGenerator, PhaseSummary } from '../lib/workers.js';

export interface PhaseFigures {
  interval_ms: number;
  duration_s: number;
  offered_messages_per_s: number;
  messages_sent: number;
  messages_persisted: number;
  messages_persisted_per_s: number;
  ack_errors: Record<string, number>;
  deliveries_expected: number;
  deliveries_received: number;
  deliveries_per_s: number;
  /** Persisted (acknowledged) messages that some member never received. */
  lost: number;
  /** Sends with neither an ack nor an error by the end of the drain. */
  unacknowledged: number;
  duplicates: number;
  latency: ReturnType<PhaseSummary['latency']['summary']>;
  to_last_member: ReturnType<PhaseSummary['latency']['summary']>;
  ack_latency: ReturnType<PhaseSummary['latency']['summary']>;
  server_cpu_seconds: number;
  server_cores_busy: number;
  server_cpu_us_per_delivery: number;
  /** Server CPU time per persisted message (the per-message path, whatever the group size). */
  server_cpu_us_per_message: number;
  server_rss_mb: number;
  /** PostgreSQL backends of the bench database (production mode), same window. */
  db_cores_busy: number;
  db_cpu_us_per_delivery: number;
  db_cpu_us_per_message: number;
  generator_cpu_seconds: number;
}

/** One timed phase of sends; `recipients` = members per message other than the sender. */
export async function measurePhase(
  gen: LoadGenerator,
  meter: ServerMeter,
  phase: number,
  options: { intervalMs: number; durationS: number; drainMs: number; senders: number; recipients: number },
): Promise<PhaseFigures> {
  await meter.reset();
  const r = await gen.run(phase, options.intervalMs, options.durationS * 1000, options.drainMs);
  const server = await meter.read();
  const expected = r.acked * options.recipients;
  return {
    interval_ms: options.intervalMs,
    duration_s: options.durationS,
    offered_messages_per_s: round((options.senders * 1000) / options.intervalMs, 1),
    messages_sent: r.sent,
    messages_persisted: r.acked,
    messages_persisted_per_s: round(r.acked / options.durationS, 1),
    ack_errors: r.ack_errors,
    deliveries_expected: expected,
    deliveries_received: r.received,
    deliveries_per_s: round(r.received / options.durationS, 1),
    lost: Math.max(0, expected - r.received),
    unacknowledged: r.sent - r.acked - Object.values(r.ack_errors).reduce((n, v) => n + v, 0),
    duplicates: r.duplicates,
    latency: r.latency.summary(),
    to_last_member: r.toLastMember.summary(),
    ack_latency: r.ackLatency.summary(),
    server_cpu_seconds: server.cpu_seconds,
    server_cores_busy: server.cores_busy,
    server_cpu_us_per_delivery: r.received ? round((server.cpu_seconds * 1e6) / r.received, 1) : 0,
    server_cpu_us_per_message: r.acked ? round((server.cpu_seconds * 1e6) / r.acked, 1) : 0,
    server_rss_mb: server.rss_mb,
    db_cores_busy: server.db_cores_busy,
    db_cpu_us_per_delivery: r.received ? round((server.db_cpu_seconds * 1e6) / r.received, 1) : 0,
    db_cpu_us_per_message: r.acked ? round((server.db_cpu_seconds * 1e6) / r.acked, 1) : 0,
    generator_cpu_seconds: round(r.generator_cpu_seconds, 2),
  };
}

export interface GroupsSetup {
  groups: number;
  size: number;
  connect: Awaited<ReturnType<LoadGenerator['connect']>>;
  senders: number;
}

/** Seeds G groups of S (or G DMs: `type` dm, size 2) and connects one socket per member. */
export async function connectGroups(
  ctx: ScenarioContext,
  gen: LoadGenerator,
  groups: number,
  size: number,
  type: 'group' | 'dm' = 'group',
): Promise<GroupsSetup> {
  if (type === 'dm' && size !== 2) throw new Error('a DM has two members');
  const conversations =
    type === 'dm' ? await ctx.dms(groups) : await ctx.groups(Array.from({ length: groups }, () => size));
  const users = await ctx.users(groups * size);
  const clients = groupClients(conversations, users, () => true);
  ctx.log(`connecting ${clients.length} sockets to ${ctx.target.urls.join(', ')}`);
  const connect = await gen.connect(ctx.target.urls[0] as string, ctx.target.kind, clients);
  if (connect.failed > 0)
    throw new Error(`${connect.failed} sockets failed to connect: ${JSON.stringify(connect.errors)}`);
  await wait(1000);
  return { groups, size, connect, senders: clients.length };
}

export async function fanout(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const groups = ctx.param('groups', 8, 1000);
  const size = ctx.param('size', 10, 10);
  // Full size: each member every 10 s = one message per group per second = 10,000 receipts/s incl. the sender's.
  const intervalMs = ctx.param('interval', 1000, 10_000);
  const durationS = ctx.param('duration', 10, 30);
  const setup = await connectGroups(ctx, gen, groups, size);
  const meter = new ServerMeter(ctx.target);
  // A short warm-up phase (JIT, pools) that is not reported.
  const warmupS = ctx.param('warmup', 2, 2);
  if (warmupS > 0) {
    await measurePhase(gen, meter, 0, {
      intervalMs,
      durationS: warmupS,
      drainMs: 500,
      senders: setup.senders,
      recipients: size - 1,
    });
  }
  ctx.log(`fanout: ${groups} groups of ${size}, every member every ${intervalMs} ms for ${durationS} s`);
  const phase = await measurePhase(gen, meter, 1, {
    intervalMs,
    durationS,
    drainMs: ctx.param('drain', 3000, 3000),
    senders: setup.senders,
    recipients: size - 1,
  });
  return {
    parameters: { groups, size, interval_ms: intervalMs, duration_s: durationS, sockets: setup.senders },
    figures: { connect: setup.connect, ...phase },
    headline: {
      'deliveries/s': phase.deliveries_per_s,
      'persisted msg/s': phase.messages_persisted_per_s,
      'p50 ms': phase.latency.p50_ms,
      'p95 ms': phase.latency.p95_ms,
      'p99 ms': phase.latency.p99_ms,
      'max ms': phase.latency.max_ms,
      lost: phase.lost,
      'server CPU µs/delivery': phase.server_cpu_us_per_delivery,
      'db CPU µs/delivery': phase.db_cpu_us_per_delivery,
    },
  };
}
