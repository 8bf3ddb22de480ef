// idle: N sockets connected and held; memory per socket, connect rate, idle CPU.

import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter, wait } from '../lib/context.js';
import { type ProcSample, round, sampleAll } from '../lib/proc.js';
import type { ClientSpec } from '../lib/protocol.js';
import type { LoadGenerator } from '../lib/workers.js';

/** RSS once it changes by less than 1% over 2 s (at most 20 s of waiting). */
async function settledRss(pids: number[]): Promise<ProcSample> {
  let last = sampleAll(pids);
  for (let i = 0; i < 10; i++) {
    await wait(2000);
    const now = sampleAll(pids);
    if (Math.abs(now.rssBytes - last.rssBytes) < last.rssBytes * 0.01) return now;
    last = now;
  }
  return last;
}

export async function idle(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const sockets = ctx.param('sockets', 1000, 10_000);
  // Several sockets per user (devices), since seeding a user costs two argon2id hashes.
  const userCount = Math.min(sockets, ctx.param('users', 20, 200));
  const holdS = ctx.param('duration', 10, 30);
  const users = await ctx.users(userCount);
  const conversations = await ctx.groups(Array.from({ length: Math.floor(userCount / 10) }, () => 10));
  const memberOf = new Map<string, string[]>();
  for (const c of conversations)
    for (const id of c.memberIds) memberOf.set(id, [...(memberOf.get(id) ?? []), c.id]);
  const clients: ClientSpec[] = Array.from({ length: sockets }, (_, i) => {
    const u = users[i % users.length] as (typeof users)[number];
    return { userId: u.id, token: u.token, conversations: memberOf.get(u.id) ?? [], sendTo: null };
  });
  // Seeding hashes passwords with 19 MiB of argon2 memory each; wait until that is given back.
  const before = await settledRss(ctx.target.pids());
  ctx.log(`idle: connecting ${sockets} sockets (${userCount} users)`);
  const connect = await gen.connect(ctx.target.urls[0] as string, ctx.target.kind, clients, {
    concurrency: 50,
  });
  await wait(3000);
  const meter = new ServerMeter(ctx.target);
  await wait(holdS * 1000);
  const held = await meter.read();
  const after = await settledRss(ctx.target.pids());
  // Mass disconnect: what the server spends when every socket goes away at once (e.g. a load balancer restart).
  await meter.reset();
  await gen.close();
  await wait(3000);
  const disconnect = await meter.read();
  const perSocketKb = connect.ok ? round((after.rssBytes - before.rssBytes) / connect.ok / 1024, 1) : 0;
  return {
    parameters: { sockets, users: userCount, hold_s: holdS },
    figures: {
      connect,
      rss_before_mb: round(before.rssBytes / 1024 / 1024, 1),
      rss_after_mb: round(after.rssBytes / 1024 / 1024, 1),
      rss_per_socket_kb: perSocketKb,
      idle_cpu_seconds: held.cpu_seconds,
      idle_cores_busy: held.cores_busy,
      disconnect_all_cpu_seconds: disconnect.cpu_seconds,
    },
    headline: {
      sockets: connect.ok,
      failed: connect.failed,
      'connects/s': connect.connects_per_second,
      'KB/socket': perSocketKb,
      'idle cores busy': held.cores_busy,
      'disconnect-all CPU s': disconnect.cpu_seconds,
      'server RSS MB': round(after.rssBytes / 1024 / 1024, 1),
    },
  };
}
