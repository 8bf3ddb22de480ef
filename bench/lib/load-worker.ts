// Load-generator process: holds many Socket.IO clients, sends on a schedule, measures send -> receipt latency.
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { Histogram } from './histogram.js';
import {
  type ClientSpec,
  type CollectReport,
  decodeContent,
  encodeContent,
  type FromWorker,
  nowMs,
  type TargetKind,
  type ToWorker,
} from './protocol.js';

interface Incoming {
  conversation_id?: string;
  sender_id?: string | null;
  client_id?: string | null;
  content?: unknown;
  seq?: number;
}
/** TMA acks `send_message` with `{message, created}`; the relay with the message itself. */
type Ack = { ok: boolean; data?: { seq?: number; message?: { seq?: number } }; error?: { code?: string } };
const ackSeq = (ack: Ack | undefined): number | undefined => ack?.data?.message?.seq ?? ack?.data?.seq;
interface SyncAck {
  ok: boolean;
  data?: {
    conversations: Array<{
      conversation_id: string;
      events: Array<{ seq: number; type: string }>;
      has_more: boolean;
      last_seq: number;
    }>;
  };
}

interface Client {
  spec: ClientSpec;
  socket: Socket;
  seen: Set<string>;
  /** restart: message seqs received per conversation. */
  seqs: Map<string, Set<number>>;
  syncing: boolean;
}

const clients: Client[] = [];
let phase = -1;
let received = 0;
let duplicates = 0;
let latency = new Histogram();
/** client_id -> latest receipt latency (µs) at this process: the parent takes the max = time to the last member. */
let lastReceipt = new Map<string, number>();
let kind: TargetKind = 'tma';
let trackSeqs = false;
let reconnects = 0;
let lastReconnectAt = 0;
let lastCaughtUpAt = 0;
let syncErrors = 0;

const send = (message: FromWorker) => process.send?.(message);
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function seqsOf(client: Client, conversationId: string): Set<number> {
  let set = client.seqs.get(conversationId);
  if (!set) {
    set = new Set();
    client.seqs.set(conversationId, set);
  }
  return set;
}

function onMessage(client: Client, msg: Incoming): void {
  if (trackSeqs && msg.conversation_id && typeof msg.seq === 'number') {
    seqsOf(client, msg.conversation_id).add(msg.seq);
  }
  if (msg.sender_id === client.spec.userId) return;
  const decoded = decodeContent(msg.content);
  if (!decoded || decoded.phase !== phase) return;
  const id = msg.client_id ?? '';
  if (client.seen.has(id)) {
    duplicates += 1;
    return;
  }
  client.seen.add(id);
  received += 1;
  const micros = (nowMs() - decoded.sentAt) * 1000;
  latency.record(micros);
  if (micros > (lastReceipt.get(id) ?? -1)) lastReceipt.set(id, micros);
}

/** Catch-up after a reconnect: socket `sync` from the highest seq seen in order, until nothing is left. */
async function catchUp(client: Client, afterReconnect = true): Promise<void> {
  if (kind !== 'tma' || client.syncing) return;
  client.syncing = true;
  try {
    for (let round = 0; round < 1000; round++) {
      const cursors: Record<string, number> = {};
      for (const id of client.spec.conversations) {
        const start = client.spec.startSeq?.[id] ?? 0;
        const set = client.seqs.get(id) ?? new Set<number>();
        let cursor = start;
        while (set.has(cursor + 1)) cursor += 1;
        cursors[id] = cursor;
      }
      const ack = (await client.socket
        .timeout(10_000)
        .emitWithAck('sync', { cursors, limit: 100 })) as SyncAck;
      if (!ack.ok || !ack.data) throw new Error('sync refused');
      let more = false;
      for (const entry of ack.data.conversations) {
        const set = seqsOf(client, entry.conversation_id);
        // Every event fills the sequence (non-message ones too), so the cursor moves past them.
        for (const event of entry.events) set.add(event.seq);
        if (entry.has_more) more = true;
      }
      if (process.env.BENCH_DEBUG) console.error('catch-up round', round, JSON.stringify(cursors), more);
      if (!more) break;
    }
    // The final check at collect time is not a recovery; only reconnect catch-ups are timed.
    if (afterReconnect) lastCaughtUpAt = Math.max(lastCaughtUpAt, Date.now());
  } catch (err) {
    if (process.env.BENCH_DEBUG) console.error('catch-up failed', err);
    syncErrors += 1;
  } finally {
    client.syncing = false;
  }
}

async function connectAll(m: Extract<ToWorker, { type: 'connect' }>): Promise<void> {
  kind = m.kind;
  trackSeqs = m.reconnect;
  const started = Date.now();
  const connectLatency = new Histogram();
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let next = 0;
  const one = (spec: ClientSpec) =>
    new Promise<void>((resolve) => {
      const t0 = nowMs();
      const socket = io(`${spec.url ?? m.url}/messaging`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: m.reconnect,
        reconnectionDelay: 200,
        reconnectionDelayMax: 1000,
        randomizationFactor: 0.5,
        timeout: m.timeoutMs,
        auth: kind === 'tma' ? { token: spec.token } : { user_id: spec.userId, rooms: spec.conversations },
        ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
      });
      const client: Client = { spec, socket, seen: new Set(), seqs: new Map(), syncing: false };
      socket.on('new_message', (msg: Incoming) => onMessage(client, msg));
      let first = true;
      socket.on('connect', () => {
        if (first) {
          first = false;
          ok += 1;
          connectLatency.record((nowMs() - t0) * 1000);
          clients.push(client);
          resolve();
          return;
        }
        reconnects += 1;
        lastReconnectAt = Math.max(lastReconnectAt, Date.now());
        void catchUp(client);
      });
      socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
        if (!first) return;
        const code = err.data?.code ?? err.message;
        errors[code] = (errors[code] ?? 0) + 1;
        if (m.reconnect && (errors[code] ?? 0) < 50) return; // the manager retries by itself
        first = false;
        failed += 1;
        socket.close();
        resolve();
      });
    });
  const lane = async () => {
    while (next < m.clients.length) {
      const spec = m.clients[next++] as ClientSpec;
      await one(spec);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, m.concurrency) }, lane));
  send({
    type: 'connected',
    ok,
    failed,
    errors,
    elapsedMs: Date.now() - started,
    connectLatency: connectLatency.snapshot(),
  });
}

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  phase = m.phase;
  received = 0;
  duplicates = 0;
  latency = new Histogram();
  lastReceipt = new Map();
  for (const c of clients) c.seen.clear();
  const ackLatency = new Histogram();
  const ackErrors: Record<string, number> = {};
  let sent = 0;
  let acked = 0;
  const cpu0 = cpuMicros();
  const stopAt = m.startAt + m.durationMs;
  const timers: NodeJS.Timeout[] = [];
  const senders = clients.filter((c) => c.spec.sendTo);
  for (const c of senders) {
    const conversation_id = c.spec.sendTo as string;
    // Spread the first sends over one interval so the load is smooth, not a burst each tick.
    let due = m.startAt + Math.random() * m.intervalMs;
    const tick = () => {
      const at = nowMs();
      if (at >= stopAt) return;
      sent += 1;
      c.socket.emit(
        'send_message',
        { conversation_id, content: encodeContent(m.phase, at), client_id: randomUUID() },
        (ack: Ack) => {
          if (ack?.ok) {
            acked += 1;
            ackLatency.record((nowMs() - at) * 1000);
          } else {
            const code = ack?.error?.code ?? 'unknown';
            ackErrors[code] = (ackErrors[code] ?? 0) + 1;
          }
        },
      );
      due += m.intervalMs;
      timers.push(setTimeout(tick, Math.max(0, due - nowMs())));
    };
    timers.push(setTimeout(tick, Math.max(0, due - nowMs())));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, stopAt - nowMs()) + m.drainMs));
  for (const t of timers) clearTimeout(t);
  send({
    type: 'result',
    phase: m.phase,
    sent,
    acked,
    ackErrors,
    received,
    duplicates,
    latency: latency.snapshot(),
    ackLatency: ackLatency.snapshot(),
    lastReceipt: Object.fromEntries(lastReceipt),
    cpuMicros: cpuMicros() - cpu0,
  });
}

// restart: continuous sends, one in flight per client (a client's outbox), each retried with the same
// client_id until acknowledged, so a restart can duplicate nothing and lose nothing.
let flowing = false;
let flowSent = 0;
let flowRetries = 0;
const pending = new Map<string, Client>();
const ackedIds: Record<string, { conversation_id: string; seq: number }> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendUntilAcked(
  client: Client,
  id: string,
  conversation_id: string,
  content: string,
): Promise<void> {
  pending.set(id, client);
  for (let attempt = 0; ; ) {
    if (!client.socket.connected) {
      await sleep(250);
      continue;
    }
    if (attempt++ > 0) flowRetries += 1;
    try {
      const ack = (await client.socket
        .timeout(10_000)
        .emitWithAck('send_message', { conversation_id, content, client_id: id })) as Ack;
      const seq = ackSeq(ack);
      if (ack?.ok && typeof seq === 'number') {
        ackedIds[id] = { conversation_id, seq };
        pending.delete(id);
        return;
      }
    } catch {
      // Timed out or disconnected: retry with the same client_id.
    }
    await sleep(250);
  }
}

function startFlow(intervalMs: number): void {
  flowing = true;
  for (const c of clients.filter((x) => x.spec.sendTo)) {
    const conversation = c.spec.sendTo as string;
    void (async () => {
      await sleep(Math.random() * intervalMs);
      while (flowing) {
        flowSent += 1;
        await sendUntilAcked(c, randomUUID(), conversation, encodeContent(0, nowMs()));
        await sleep(intervalMs);
      }
    })();
  }
}

async function stopFlow(settleMs: number): Promise<void> {
  flowing = false;
  const deadline = Date.now() + settleMs;
  while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  send({
    type: 'flow_stopped',
    sent: flowSent,
    acked: Object.keys(ackedIds).length,
    retries: flowRetries,
    unacked: pending.size,
    ackedIds,
  });
}

async function collect(): Promise<void> {
  await Promise.all(clients.map((c) => (c.socket.connected ? catchUp(c, false) : Promise.resolve())));
  const report: CollectReport = {
    type: 'collected',
    clients: clients.map((c) => ({
      userId: c.spec.userId,
      seqs: Object.fromEntries([...c.seqs].map(([id, set]) => [id, [...set].sort((a, b) => a - b)])),
    })),
    reconnects,
    lastReconnectAt,
    lastCaughtUpAt,
    disconnectedNow: clients.filter((c) => !c.socket.connected).length,
    syncErrors,
  };
  send(report);
}

process.on('message', (m: ToWorker) => {
  const fail = (err: unknown) => send({ type: 'error', message: String(err) });
  switch (m.type) {
    case 'connect':
      connectAll(m).catch(fail);
      break;
    case 'run':
      run(m).catch(fail);
      break;
    case 'flow':
      startFlow(m.intervalMs);
      break;
    case 'stop_flow':
      stopFlow(m.settleMs).catch(fail);
      break;
    case 'collect':
      collect().catch(fail);
      break;
    case 'close':
      for (const c of clients) c.socket.close();
      send({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});
// The runner owns this process: if it goes away, so does the load.
process.on('disconnect', () => process.exit(0));
