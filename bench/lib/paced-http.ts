// Open-loop HTTP load: requests at evenly spaced times over a bounded keep-alive pool; latency from the schedule.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Histogram, type LatencySummary } from './histogram.js';

export interface PacedLoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** GET unless given; a body is sent as JSON with every request. */
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Request i's own headers and JSON body (e.g. an Idempotency-Key each), over `headers` and instead of `body`. */
  requestFor?: (i: number) => { headers?: Record<string, string>; body?: unknown };
  /** Offered requests per second: request i is due at start + i / rate, whatever happened before it. */
  rate: number;
  durationS: number;
  /** Keep-alive connections at most (requests beyond them wait in the client, and that wait is charged). */
  sockets?: number;
  /** Requests sent and not yet answered at most; a request due while this many are out is dropped. */
  maxInFlight?: number;
  /** A request not answered this long after it was due is aborted and counted as a timeout. */
  timeoutMs?: number;
}

export interface PacedLoadFigures {
  /** Requests due in the window (rate x duration). */
  offered: number;
  /** Due but not sent because `max_in_flight` requests were already out. */
  dropped: number;
  sent: number;
  /** Responses received, any status. */
  requests: number;
  non_2xx: number;
  /** Requests that failed without a response (connection refused, reset, ...), timeouts excluded. */
  errors: number;
  timeouts: number;
  offered_per_s: number;
  /** 2xx responses per second, from the first due time to the last answer. */
  served_per_s: number;
  elapsed_s: number;
  sockets: number;
  max_in_flight: number;
  /** The most requests out at once during the run. */
  peak_in_flight: number;
  /** The latest a request was handed to the socket pool after its due time (the client's own timer lag). */
  max_send_lag_ms: number;
  /** CPU time of this (the load-generating) process during the run. */
  generator_cpu_seconds: number;
  /** Due time -> end of response, every response. */
  latency: LatencySummary;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `rate` x `durationS` requests (GET, or POST with a JSON body), request i due at start + i / rate (late timer wake-ups send
 * every request already due at once, each keeping its own due time), and records for every response the
 * time from its due time to its last byte: a stall is charged to every request that was due during it.
 * Resolves once every sent request is answered, failed or timed out; no socket is left open.
 */
export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadFigures> {
  const { url, rate, durationS } = options;
  if (!(rate > 0) || !(durationS > 0)) throw new Error('pacedLoad: rate and duration must be positive');
  const sockets = options.sockets ?? 32;
  const maxInFlight = options.maxInFlight ?? Math.max(sockets, Math.ceil(rate));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  const histogram = new Histogram();
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers = payload
    ? { ...options.headers, 'content-type': 'application/json', 'content-length': String(payload.length) }
    : options.headers;
  const figures = { dropped: 0, sent: 0, requests: 0, ok: 0, non_2xx: 0, errors: 0, timeouts: 0 };
  const pending = new Set<Promise<void>>();
  let peak = 0;
  let sendLag = 0;
  let lastAnswer = 0;

  const send = (due: number, index: number) =>
    new Promise<void>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: 'errors' | 'timeouts' | number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const now = performance.now();
        lastAnswer = Math.max(lastAnswer, now);
        if (typeof outcome === 'number') {
          figures.requests += 1;
          if (outcome >= 200 && outcome < 300) figures.ok += 1;
          else figures.non_2xx += 1;
          histogram.record((now - due) * 1000);
        } else {
          figures[outcome] += 1;
        }
        resolve();
      };
      const own = options.requestFor?.(index);
      const ownPayload = own?.body === undefined ? payload : Buffer.from(JSON.stringify(own.body));
      const ownHeaders = own
        ? {
            ...headers,
            ...own.headers,
            ...(ownPayload
              ? { 'content-type': 'application/json', 'content-length': String(ownPayload.length) }
              : {}),
          }
        : headers;
      const request = client.request(target, {
        agent,
        method: options.method ?? 'GET',
        headers: ownHeaders,
      });
      timer = setTimeout(
        () => {
          finish('timeouts');
          request.destroy();
        },
        Math.max(0, due + timeoutMs - performance.now()),
      );
      request.on('response', (response: IncomingMessage) => {
        response.on('end', () => finish(response.statusCode ?? 0));
        // A connection lost mid-body closes the response without 'end'.
        response.on('close', () => finish(response.complete ? (response.statusCode ?? 0) : 'errors'));
        response.on('error', () => undefined);
        response.resume();
      });
      request.on('error', () => finish('errors'));
      request.end(ownPayload);
    });

  const offered = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  try {
    for (let i = 0; i < offered; ) {
      const now = performance.now();
      for (; i < offered && start + i * interval <= now; i++) {
        if (pending.size >= maxInFlight) {
          figures.dropped += 1;
          continue;
        }
        const due = start + i * interval;
        figures.sent += 1;
        sendLag = Math.max(sendLag, performance.now() - due);
        const one = send(due, i).then(() => {
          pending.delete(one);
        });
        pending.add(one);
        peak = Math.max(peak, pending.size);
      }
      if (i < offered) await sleep(start + i * interval - performance.now());
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  const elapsedMs = Math.max(lastAnswer, performance.now()) - start;
  const cpu = process.cpuUsage(cpuBefore);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    offered,
    dropped: figures.dropped,
    sent: figures.sent,
    requests: figures.requests,
    non_2xx: figures.non_2xx,
    errors: figures.errors,
    timeouts: figures.timeouts,
    offered_per_s: round(offered / durationS),
    served_per_s: round(figures.ok / (Math.max(lastAnswer - start, durationS * 1000) / 1000)),
    elapsed_s: Math.round(elapsedMs) / 1000,
    sockets,
    max_in_flight: maxInFlight,
    peak_in_flight: peak,
    max_send_lag_ms: Math.round(sendLag * 1000) / 1000,
    generator_cpu_seconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    latency: histogram.summary(),
  };
}
