// ramp: the fanout shape with the send rate stepped up until p99 > 250 ms or a loss; the highest sustained rate.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import type { LoadGenerator } from '../lib/workers.js';
import { connectGroups, type GroupsSetup, measurePhase, type PhaseFigures } from './fanout.js';

const P99_LIMIT_MS = 250;

/** Why a step is past the limit (empty when it passed). */
export function stepLimits(step: PhaseFigures): string[] {
  const refused = Object.values(step.ack_errors).reduce((n, v) => n + v, 0);
  const limits: string[] = [];
  if (step.latency.p99_ms > P99_LIMIT_MS) limits.push(`p99 ${step.latency.p99_ms} ms > ${P99_LIMIT_MS} ms`);
  if (step.lost > 0) limits.push(`${step.lost} lost`);
  if (refused > 0) limits.push(`${refused} refused`);
  if (step.unacknowledged > 0) limits.push(`${step.unacknowledged} unacknowledged`);
  if (step.messages_persisted_per_s < step.offered_messages_per_s * 0.9) {
    limits.push(`persisted ${step.messages_persisted_per_s} < 90% of ${step.offered_messages_per_s} msg/s`);
  }
  return limits;
}

/** A step passes when p99 stays under the limit, nothing is lost, and the server keeps up with the offered rate. */
export function stepPasses(step: PhaseFigures): boolean {
  return stepLimits(step).length === 0;
}

export interface StepOptions {
  /** Interval between sends of one member in the first step (ms). */
  startIntervalMs: number;
  factor: number;
  stepS: number;
  maxSteps: number;
  warmupS: number;
  drainMs: number;
}

export interface Stepped {
  steps: PhaseFigures[];
  /** The highest step that passed. */
  best: PhaseFigures | undefined;
  /** Why the step after `best` failed (undefined when the steps ran out first). */
  limit: string[] | undefined;
}

/** Runs the connected load at rising rates (interval / factor each step) until a step fails or the steps run out. */
export async function stepUp(
  ctx: ScenarioContext,
  gen: LoadGenerator,
  setup: GroupsSetup,
  options: StepOptions,
): Promise<Stepped> {
  const meter = new ServerMeter(ctx.target);
  const recipients = setup.size - 1;
  if (options.warmupS > 0) {
    await measurePhase(gen, meter, 0, {
      intervalMs: options.startIntervalMs,
      durationS: options.warmupS,
      drainMs: 500,
      senders: setup.senders,
      recipients,
    });
  }
  const steps: PhaseFigures[] = [];
  let best: PhaseFigures | undefined;
  let limit: string[] | undefined;
  let interval = options.startIntervalMs;
  for (let i = 1; i <= options.maxSteps; i++) {
    const step = await measurePhase(gen, meter, i, {
      intervalMs: Math.max(1, Math.round(interval)),
      durationS: options.stepS,
      drainMs: options.drainMs,
      senders: setup.senders,
      recipients,
    });
    steps.push(step);
    const limits = stepLimits(step);
    ctx.log(
      `step ${i}: offered ${step.offered_messages_per_s} msg/s, persisted ${step.messages_persisted_per_s} msg/s, ${step.deliveries_per_s} deliveries/s, p99 ${step.latency.p99_ms} ms, lost ${step.lost}, server ${step.server_cores_busy} / db ${step.db_cores_busy} cores busy ${limits.length === 0 ? 'ok' : `LIMIT (${limits.join(', ')})`}`,
    );
    if (limits.length > 0) {
      limit = limits;
      break;
    }
    best = step;
    interval /= options.factor;
  }
  return { steps, best, limit };
}

export const chartSeries = (steps: PhaseFigures[]): NonNullable<ScenarioResult['series']> =>
  steps.map((s) => ({
    deliveries_per_s: s.deliveries_per_s,
    p50_ms: s.latency.p50_ms,
    p95_ms: s.latency.p95_ms,
    p99_ms: s.latency.p99_ms,
  }));

export async function ramp(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const groups = ctx.param('groups', 8, 100);
  const size = ctx.param('size', 10, 10);
  const startInterval = ctx.param('interval', 2000, 10_000);
  const factor = ctx.param('factor', 1.6, 1.4);
  const stepS = ctx.param('duration', 4, 10);
  // The relay is the ceiling the ratios refer to, so it gets more steps to reach its own limit.
  const maxSteps = ctx.param('steps', 8, 14) + (ctx.target.kind === 'baseline' ? 6 : 0);
  const setup = await connectGroups(ctx, gen, groups, size);
  const { steps, best, limit } = await stepUp(ctx, gen, setup, {
    startIntervalMs: startInterval,
    factor,
    stepS,
    maxSteps,
    warmupS: 2,
    drainMs: 2000,
  });
  return {
    parameters: {
      groups,
      size,
      start_interval_ms: startInterval,
      factor,
      step_s: stepS,
      max_steps: maxSteps,
      p99_limit_ms: P99_LIMIT_MS,
    },
    figures: {
      connect: setup.connect,
      highest_sustained: best ?? null,
      limit: limit ?? null,
      steps,
    },
    headline: {
      'max sustained deliveries/s': best?.deliveries_per_s ?? 0,
      'persisted msg/s': best?.messages_persisted_per_s ?? 0,
      'p99 ms at max': best?.latency.p99_ms ?? 0,
      'server CPU µs/delivery': best?.server_cpu_us_per_delivery ?? 0,
      'db CPU µs/delivery': best?.db_cpu_us_per_delivery ?? 0,
      'limit hit': limit ? 'yes' : 'no (steps exhausted)',
    },
    series: chartSeries(steps),
  };
}
