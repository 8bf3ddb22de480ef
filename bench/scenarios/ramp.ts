// ramp: the fanout shape with the send rate stepped up until p99 > 250 ms or a loss; the highest sustained rate.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import type { LoadGenerator } from '../lib/workers.js';
import { connectGroups, measurePhase, type PhaseFigures } from './fanout.js';

const P99_LIMIT_MS = 250;

/** A step passes when p99 stays under the limit, nothing is lost, and the server keeps up with the offered rate. */
export function stepPasses(step: PhaseFigures): boolean {
  const refused = Object.values(step.ack_errors).reduce((n, v) => n + v, 0);
  return (
    step.latency.p99_ms <= P99_LIMIT_MS &&
    step.lost === 0 &&
    refused === 0 &&
    step.unacknowledged === 0 &&
    step.messages_persisted_per_s >= step.offered_messages_per_s * 0.9
  );
}

export async function ramp(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const groups = ctx.param('groups', 8, 100);
  const size = ctx.param('size', 10, 10);
  const startInterval = ctx.param('interval', 2000, 10_000);
  const factor = ctx.param('factor', 1.6, 1.4);
  const stepS = ctx.param('duration', 4, 10);
  // The relay is the ceiling the ratios refer to, so it gets more steps to reach its own limit.
  const maxSteps = ctx.param('steps', 8, 14) + (ctx.target.kind === 'baseline' ? 6 : 0);
  const setup = await connectGroups(ctx, gen, groups, size);
  const meter = new ServerMeter(ctx.target);
  await measurePhase(gen, meter, 0, {
    intervalMs: startInterval,
    durationS: 2,
    drainMs: 500,
    senders: setup.senders,
    recipients: size - 1,
  });
  const steps: PhaseFigures[] = [];
  let best: PhaseFigures | undefined;
  let interval = startInterval;
  for (let i = 1; i <= maxSteps; i++) {
    const step = await measurePhase(gen, meter, i, {
      intervalMs: Math.max(1, Math.round(interval)),
      durationS: stepS,
      drainMs: 2000,
      senders: setup.senders,
      recipients: size - 1,
    });
    steps.push(step);
    const ok = stepPasses(step);
    ctx.log(
      `ramp step ${i}: offered ${step.offered_messages_per_s} msg/s, ${step.deliveries_per_s} deliveries/s, p99 ${step.latency.p99_ms} ms, lost ${step.lost}, server ${step.server_cores_busy} / db ${step.db_cores_busy} cores busy ${ok ? 'ok' : 'LIMIT'}`,
    );
    if (!ok) break;
    best = step;
    interval /= factor;
  }
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
      steps,
    },
    headline: {
      'max sustained deliveries/s': best?.deliveries_per_s ?? 0,
      'persisted msg/s': best?.messages_persisted_per_s ?? 0,
      'p99 ms at max': best?.latency.p99_ms ?? 0,
      'server CPU µs/delivery': best?.server_cpu_us_per_delivery ?? 0,
      'db CPU µs/delivery': best?.db_cpu_us_per_delivery ?? 0,
      'limit hit': steps.length > (best ? steps.indexOf(best) + 1 : 0) ? 'yes' : 'no (steps exhausted)',
    },
    series: steps.map((s) => ({
      deliveries_per_s: s.deliveries_per_s,
      p50_ms: s.latency.p50_ms,
      p95_ms: s.latency.p95_ms,
      p99_ms: s.latency.p99_ms,
    })),
  };
}
