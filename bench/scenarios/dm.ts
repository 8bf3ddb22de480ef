// dm: P pairs of users, each pair in a DM conversation, one socket per user, every user sending; the rate is
// stepped up like the ramp until p99 > 250 ms or a loss, and the highest sustained persisted messages/s is reported.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { round } from '../lib/proc.js';
import type { LoadGenerator } from '../lib/workers.js';
import { connectGroups, type PhaseFigures } from './fanout.js';
import { chartSeries, stepUp } from './ramp.js';

/** The server's flood guard: events per socket per second (src/realtime/server.ts); more are refused. */
const SERVER_EVENTS_PER_SOCKET_PER_SECOND = 30;

export async function dm(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  // Enough sockets that the top step stays under the per-socket flood guard (5,033 msg/s over 200 sockets).
  const pairs = ctx.param('pairs', 100, 500);
  const senders = pairs * 2;
  // The first step's offered rate over all users (msg/s); `interval` (ms per user) takes precedence.
  const startRate = ctx.param('rate', 300, 500);
  const startInterval = ctx.options.params.interval ?? (senders * 1000) / startRate;
  const factor = ctx.param('factor', 1.6, 1.4);
  const stepS = ctx.param('duration', 4, 10);
  // steps=1 measures one fixed rate (reported whether or not it passes); the relay gets more steps.
  const steps = ctx.param('steps', 7, 10);
  const maxSteps = steps + (ctx.target.kind === 'baseline' && steps > 1 ? 6 : 0);
  const topPerSocket = 1000 / Math.max(1, Math.round(startInterval / factor ** (maxSteps - 1)));
  if (ctx.target.kind === 'tma' && topPerSocket > SERVER_EVENTS_PER_SOCKET_PER_SECOND) {
    ctx.log(
      `dm: the last steps ask ${round(topPerSocket, 1)} sends/s of one socket, over the server's ${SERVER_EVENTS_PER_SOCKET_PER_SECOND} events/s per socket: they will be refused (more pairs avoid it)`,
    );
  }
  const setup = await connectGroups(ctx, gen, pairs, 2, 'dm');
  ctx.log(
    `dm: ${pairs} pairs, from ${round((senders * 1000) / startInterval, 1)} msg/s x${factor} per ${stepS} s step, up to ${maxSteps} steps`,
  );
  const run = await stepUp(ctx, gen, setup, {
    startIntervalMs: startInterval,
    factor,
    stepS,
    maxSteps,
    warmupS: ctx.param('warmup', 2, 2),
    drainMs: ctx.param('drain', 2000, 2000),
  });
  const shown: PhaseFigures | undefined = maxSteps === 1 ? run.steps[0] : run.best;
  return {
    parameters: {
      pairs,
      sockets: setup.senders,
      start_interval_ms: round(startInterval, 1),
      start_rate_messages_per_s: round((senders * 1000) / startInterval, 1),
      factor,
      step_s: stepS,
      max_steps: maxSteps,
    },
    figures: {
      connect: setup.connect,
      highest_sustained: run.best ?? null,
      limit: run.limit ?? null,
      steps: run.steps,
    },
    headline: {
      'persisted msg/s': shown?.messages_persisted_per_s ?? 0,
      'offered msg/s': shown?.offered_messages_per_s ?? 0,
      'deliveries/s': shown?.deliveries_per_s ?? 0,
      'p50 ms': shown?.latency.p50_ms ?? 0,
      'p95 ms': shown?.latency.p95_ms ?? 0,
      'p99 ms': shown?.latency.p99_ms ?? 0,
      'max ms': shown?.latency.max_ms ?? 0,
      'ack p99 ms': shown?.ack_latency.p99_ms ?? 0,
      lost: shown?.lost ?? 0,
      'server CPU µs/msg': shown?.server_cpu_us_per_message ?? 0,
      'db CPU µs/msg': shown?.db_cpu_us_per_message ?? 0,
      'server cores': shown?.server_cores_busy ?? 0,
      'db cores': shown?.db_cores_busy ?? 0,
      limit: run.limit
        ? `at ${run.steps.at(-1)?.offered_messages_per_s} msg/s offered: ${run.limit.join(', ')}`
        : 'none (steps exhausted)',
    },
    series: chartSeries(run.steps),
  };
}
