// restart: clients keep sending while an instance is killed (-9) and restarted; every client must end with
// every message of the server's history (live or through `sync`), and every acknowledged send must be stored.
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { groupClients, wait } from '../lib/context.js';
import { api } from '../lib/seed.js';
import type { LoadGenerator } from '../lib/workers.js';

interface EventRow {
  seq: number;
  type: string;
}

/** Message seqs of a conversation after `afterSeq`, from the server's event log. */
async function serverMessageSeqs(
  base: string,
  token: string,
  id: string,
  afterSeq: number,
): Promise<Set<number>> {
  const seqs = new Set<number>();
  let cursor = afterSeq;
  for (;;) {
    const events = await api<EventRow[]>(
      base,
      'GET',
      `/conversations/${id}/events?after_seq=${cursor}&limit=100`,
      undefined,
      token,
    );
    for (const e of events) if (e.type === 'message.created') seqs.add(e.seq);
    if (events.length === 0) return seqs;
    cursor = events.at(-1)?.seq ?? cursor;
  }
}

export async function restart(ctx: ScenarioContext, gen: LoadGenerator): Promise<ScenarioResult> {
  const groups = ctx.param('groups', 5, 50);
  const size = ctx.param('size', 4, 10);
  const intervalMs = ctx.param('interval', 250, 1000);
  const beforeS = ctx.param('before', 3, 10);
  const afterS = ctx.param('after', 3, 10);
  const urls = ctx.target.urls;
  const victim = 0;
  const conversations = await ctx.groups(Array.from({ length: groups }, () => size));
  const users = await ctx.users(groups * size);
  const clients = groupClients(conversations, users, () => true).map((c, i) => ({
    ...c,
    url: urls[i % urls.length] as string,
  }));
  ctx.log(
    `restart: ${clients.length} clients over ${urls.length} instance(s), each sending every ${intervalMs} ms`,
  );
  const connect = await gen.connect(urls[0] as string, 'tma', clients, { reconnect: true });
  if (connect.failed > 0) throw new Error(`${connect.failed} sockets failed to connect`);
  await gen.flow(intervalMs);
  await wait(beforeS * 1000);
  const killedAt = Date.now();
  ctx.log(`restart: kill -9 instance ${victim}`);
  ctx.target.kill(victim);
  await ctx.target.restart(victim);
  const upAt = Date.now();
  ctx.log(`restart: instance ${victim} is back after ${upAt - killedAt} ms`);
  await wait(afterS * 1000);
  ctx.log('restart: stopping the senders (unacknowledged sends are retried until stored)');
  const flows = await gen.stopFlow(30_000);
  await wait(1000);
  ctx.log('restart: final catch-up and comparison with the server history');
  const collected = await gen.collect();

  const owner = users[0];
  const byConversation = new Map<string, Set<number>>();
  const base = urls[urls.length > 1 ? 1 - victim : victim] as string;
  for (const c of conversations) {
    const member = users.find((u) => u.id === c.memberIds[0]) ?? owner;
    byConversation.set(c.id, await serverMessageSeqs(base, member?.token ?? '', c.id, c.lastSeq));
  }
  let lostDeliveries = 0;
  let expectedDeliveries = 0;
  for (const report of collected) {
    for (const client of report.clients) {
      for (const c of conversations) {
        if (!c.memberIds.includes(client.userId)) continue;
        const got = new Set(client.seqs[c.id] ?? []);
        for (const seq of byConversation.get(c.id) ?? []) {
          expectedDeliveries += 1;
          if (!got.has(seq)) lostDeliveries += 1;
        }
      }
    }
  }
  let ackedNotStored = 0;
  let acked = 0;
  for (const f of flows) {
    for (const { conversation_id, seq } of Object.values(f.ackedIds)) {
      acked += 1;
      if (!byConversation.get(conversation_id)?.has(seq)) ackedNotStored += 1;
    }
  }
  const stored = [...byConversation.values()].reduce((n, s) => n + s.size, 0);
  const unacked = flows.reduce((n, f) => n + f.unacked, 0);
  const lastReconnect = Math.max(...collected.map((r) => r.lastReconnectAt));
  const lastCaughtUp = Math.max(...collected.map((r) => r.lastCaughtUpAt));
  const figures = {
    connect,
    killed_instance: victim,
    restart_ms: upAt - killedAt,
    all_reconnected_after_kill_ms: lastReconnect ? lastReconnect - killedAt : null,
    all_caught_up_after_kill_ms: lastCaughtUp ? lastCaughtUp - killedAt : null,
    all_caught_up_after_restart_ms: lastCaughtUp ? lastCaughtUp - upAt : null,
    reconnects: collected.reduce((n, r) => n + r.reconnects, 0),
    still_disconnected: collected.reduce((n, r) => n + r.disconnectedNow, 0),
    sync_errors: collected.reduce((n, r) => n + r.syncErrors, 0),
    sends: flows.reduce((n, f) => n + f.sent, 0),
    sends_acked: acked,
    send_retries: flows.reduce((n, f) => n + f.retries, 0),
    sends_never_acked: unacked,
    acked_but_not_stored: ackedNotStored,
    messages_stored: stored,
    deliveries_expected: expectedDeliveries,
    deliveries_missing: lostDeliveries,
    lost: lostDeliveries + ackedNotStored + unacked,
  };
  return {
    parameters: {
      groups,
      size,
      instances: urls.length,
      interval_ms: intervalMs,
      before_s: beforeS,
      after_s: afterS,
    },
    figures,
    headline: {
      clients: clients.length,
      'messages stored': stored,
      'restart ms': figures.restart_ms,
      'all reconnected ms': figures.all_reconnected_after_kill_ms ?? 'n/a',
      'all caught up ms': figures.all_caught_up_after_kill_ms ?? 'n/a',
      lost: figures.lost,
    },
  };
}
