// bigroom: one room of many members; a few members send; p99 time until the LAST recipient has the message.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { groupClients, ServerMeter, wait } from '../lib/context.js';
import type { LoadGenerator } from '../lib/workers.js';
import { measurePhase } from './fanout.js';

export async function bigroom(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const members = ctx.param('members', 100, 1000);
  const senders = Math.min(members, ctx.param('senders', 5, 10));
  const intervalMs = ctx.param('interval', 1000, 1000);
  const durationS = ctx.param('duration', 10, 30);
  const [room] = await ctx.groups([members]);
  const users = await ctx.users(members);
  if (!room) throw new Error('no room');
  const clients = groupClients([room], users, (i) => i < senders);
  ctx.log(`bigroom: ${members} members, ${senders} senders every ${intervalMs} ms for ${durationS} s`);
  const connect = await gen.connect(ctx.target.urls[0] as string, ctx.target.kind, clients);
  if (connect.failed > 0)
    throw new Error(`${connect.failed} sockets failed to connect: ${JSON.stringify(connect.errors)}`);
  await wait(1000);
  const meter = new ServerMeter(ctx.target);
  const opts = { intervalMs, durationS, drainMs: 3000, senders, recipients: members - 1 };
  await measurePhase(gen, meter, 0, { ...opts, durationS: 2, drainMs: 1000 });
  const phase = await measurePhase(gen, meter, 1, opts);
  return {
    parameters: { members, senders, interval_ms: intervalMs, duration_s: durationS },
    figures: { connect, ...phase },
    headline: {
      'deliveries/s': phase.deliveries_per_s,
      'p50 to last ms': phase.to_last_member.p50_ms,
      'p99 to last ms': phase.to_last_member.p99_ms,
      'max to last ms': phase.to_last_member.max_ms,
      'p99 any member ms': phase.latency.p99_ms,
      lost: phase.lost,
      'server CPU µs/delivery': phase.server_cpu_us_per_delivery,
    },
  };
}
