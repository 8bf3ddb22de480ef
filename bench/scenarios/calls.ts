// calls: N concurrent 1:1 calls set up and torn down over /calls (start -> ringing -> accept -> signals -> end),
// in rounds (the starts of a round spread over `spread` ms, or a burst with 0; every call of a round set up before
// its signalling starts); call_start -> call_ringing latency (target p99 < 50 ms) and signals relayed per second.
import { io, type Socket } from 'socket.io-client';
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import { Histogram } from '../lib/histogram.js';
import type { BenchUser } from '../lib/seed.js';

type Ack = { ok: boolean; data?: { call: { id: string } }; error?: { code: string } };

function connect(base: string, token: string): Promise<Socket> {
  const socket = io(`${base}/calls`, { auth: { token }, transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function once<T>(socket: Socket, event: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

async function acked(socket: Socket, event: string, payload: unknown): Promise<Ack> {
  const ack = (await socket.timeout(30_000).emitWithAck(event, payload)) as Ack;
  if (!ack.ok) throw new Error(`${event}: ${ack.error?.code}`);
  return ack;
}

export async function calls(ctx: ScenarioContext): Promise<ScenarioResult> {
  const pairs = ctx.param('calls', 50, 200);
  const rounds = ctx.param('rounds', 3, 5);
  const signalsPerCall = ctx.param('signals', 20, 50);
  // The starts of a round spread evenly over this many ms (0: all at once, a burst).
  const spreadMs = ctx.param('spread', 1000, 1000);
  const base = ctx.target.urls[0] as string;
  const users = (await ctx.users(pairs * 2)) as BenchUser[];
  const dms = await ctx.dms(pairs);
  ctx.log(
    `calls: ${pairs} concurrent 1:1 calls, ${rounds} rounds, ${signalsPerCall} signals each way per call, ` +
      (spreadMs > 0 ? `starts spread over ${spreadMs} ms` : 'starts all at once'),
  );
  const sockets = await Promise.all(users.map((u) => connect(base, u.token)));
  const byUser = new Map(users.map((u, i) => [u.id, sockets[i] as Socket]));
  const meter = new ServerMeter(ctx.target);
  const ringing = new Histogram();
  const setup = new Histogram();
  const teardown = new Histogram();
  let relayed = 0;
  let signalMs = 0;
  await meter.reset();
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    // Every call of the round is set up before any signalling starts: ringing is timed against the starts and
    // accepts of the other calls, not behind thousands of signals.
    let ready = 0;
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const timings = await Promise.all(
      dms.map(async (dm, i) => {
        if (spreadMs > 0) await new Promise((r) => setTimeout(r, (i * spreadMs) / pairs));
        const [callerId, calleeId] = dm.memberIds as [string, string];
        const caller = byUser.get(callerId) as Socket;
        const callee = byUser.get(calleeId) as Socket;
        const rang = once<{ call: { id: string } }>(callee, 'call_ringing');
        rang.catch(() => undefined);
        const t0 = performance.now();
        const start = await acked(caller, 'call_start', { conversation_id: dm.id, media: 'audio' });
        const callId = start.data?.call.id as string;
        await rang;
        ringing.record((performance.now() - t0) * 1000);
        const accepted = once(caller, 'call_accepted');
        await acked(callee, 'call_accept', { call_id: callId });
        await accepted;
        setup.record((performance.now() - t0) * 1000);
        if (++ready === pairs) openGate();
        await gate;
        // Trickle ICE both ways: every signal acked by the server and received by the peer.
        const s0 = performance.now();
        const inbound = (socket: Socket) =>
          new Promise<void>((resolve) => {
            let n = 0;
            const on = () => {
              if (++n === signalsPerCall) {
                socket.off('call_signal', on);
                resolve();
              }
            };
            socket.on('call_signal', on);
          });
        const received = Promise.all([inbound(caller), inbound(callee)]);
        const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0' };
        await Promise.all(
          Array.from({ length: signalsPerCall }, () => [
            acked(caller, 'call_signal', {
              call_id: callId,
              to_user_id: calleeId,
              signal: { type: 'candidate', candidate },
            }),
            acked(callee, 'call_signal', {
              call_id: callId,
              to_user_id: callerId,
              signal: { type: 'candidate', candidate },
            }),
          ]).flat(),
        );
        await received;
        const signalsTook = performance.now() - s0;
        const t1 = performance.now();
        const ended = once(callee, 'call_ended');
        await acked(caller, 'call_end', { call_id: callId });
        await ended;
        teardown.record((performance.now() - t1) * 1000);
        return signalsTook;
      }),
    );
    relayed += pairs * signalsPerCall * 2;
    signalMs += Math.max(...timings);
    ctx.log(`calls: round ${round + 1}/${rounds} done`);
  }
  const totalS = (performance.now() - started) / 1000;
  const cpu = await meter.read();
  for (const s of sockets) s.close();
  const ring = ringing.summary();
  const perS = Math.round(relayed / (signalMs / 1000));
  return {
    parameters: { calls: pairs, rounds, signals_per_call_each_way: signalsPerCall, spread_ms: spreadMs },
    figures: {
      start_to_ringing: ring,
      start_to_accepted: setup.summary(),
      end_to_ended: teardown.summary(),
      signals_relayed: relayed,
      signals_per_s: perS,
      calls_per_s: Math.round((pairs * rounds) / totalS),
      server_cores_busy: cpu.cores_busy,
    },
    headline: {
      'ringing p99 ms': ring.p99_ms,
      'signals/s': perS,
      'calls/s': Math.round((pairs * rounds) / totalS),
    },
  };
}
