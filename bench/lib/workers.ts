// The runner's side of the load generator: forks worker processes, spreads clients and source addresses.
import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { Histogram } from './histogram.js';
import type {
  ClientSpec,
  CollectReport,
  ConnectReport,
  FlowReport,
  FromWorker,
  RunReport,
  TargetKind,
  ToWorker,
} from './protocol.js';

const WORKER = resolve(import.meta.dirname, 'load-worker.ts');
/** Sockets per source address: well under the ~28,000 ephemeral ports of one (source, destination) pair. */
const SOCKETS_PER_ADDRESS = 5000;

/** 127.0.0.2, 127.0.0.3, ... so that 10,000+ sockets do not run out of ephemeral ports. */
export function sourceAddresses(sockets: number, minimum = 2): string[] {
  const count = Math.min(250, Math.max(minimum, Math.ceil(sockets / SOCKETS_PER_ADDRESS)));
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

/** Round-robin: client i goes to worker i % workers, and its source address is address i % addresses. */
export function spread(clients: ClientSpec[], workers: number, addresses: string[]): ClientSpec[][] {
  const lanes: ClientSpec[][] = Array.from({ length: workers }, () => []);
  clients.forEach((c, i) => {
    lanes[i % workers]?.push({ ...c, localAddress: addresses[i % addresses.length] });
  });
  return lanes;
}

class Worker {
  private waiting: Array<{ type: FromWorker['type']; resolve: (m: FromWorker) => void }> = [];
  private failure: Error | undefined;

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromWorker) => {
      if (m.type === 'error') {
        this.failure = new Error(`load worker: ${m.message}`);
        for (const w of this.waiting.splice(0)) w.resolve(m);
        return;
      }
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]?.resolve(m);
    });
    child.on('exit', () => {
      this.failure ??= new Error('load worker exited');
      for (const w of this.waiting.splice(0)) w.resolve({ type: 'error', message: 'exited' });
    });
  }

  async request<T extends FromWorker>(message: ToWorker, reply: T['type'], timeoutMs: number): Promise<T> {
    if (this.failure) throw this.failure;
    const answer = new Promise<FromWorker>((resolveAnswer) =>
      this.waiting.push({ type: reply, resolve: resolveAnswer }),
    );
    this.child.send(message);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`load worker: no ${reply} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const m = await Promise.race([answer, timeout]);
      if (m.type === 'error') throw this.failure ?? new Error(m.message);
      return m as T;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface ConnectSummary {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  elapsed_ms: number;
  connects_per_second: number;
  connect_latency: ReturnType<Histogram['summary']>;
}

export interface PhaseSummary {
  sent: number;
  acked: number;
  ack_errors: Record<string, number>;
  received: number;
  duplicates: number;
  latency: Histogram;
  ackLatency: Histogram;
  /** Per message: time until the last other member received it. */
  toLastMember: Histogram;
  generator_cpu_seconds: number;
}

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

/** A set of load-generator processes acting as one; every call waits for all of them. */
export class LoadGenerator {
  private constructor(private readonly workers: Worker[]) {}

  static start(count: number): LoadGenerator {
    const workers = Array.from({ length: Math.max(1, count) }, () => {
      const child = fork(WORKER, [], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return new Worker(child);
    });
    return new LoadGenerator(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid ?? 0);
  }

  async connect(
    url: string,
    kind: TargetKind,
    clients: ClientSpec[],
    options: { reconnect?: boolean; concurrency?: number; timeoutMs?: number } = {},
  ): Promise<ConnectSummary> {
    const lanes = spread(clients, this.workers.length, sourceAddresses(clients.length));
    const started = Date.now();
    const reports = await Promise.all(
      this.workers.map((w, i) =>
        w.request<ConnectReport>(
          {
            type: 'connect',
            url,
            kind,
            clients: lanes[i] ?? [],
            concurrency: options.concurrency ?? 100,
            timeoutMs: options.timeoutMs ?? 20_000,
            reconnect: options.reconnect ?? false,
          },
          'connected',
          30_000 + clients.length * 20,
        ),
      ),
    );
    const elapsed = Date.now() - started;
    const latency = new Histogram();
    const errors: Record<string, number> = {};
    for (const r of reports) {
      latency.merge(r.connectLatency);
      addCounts(errors, r.errors);
    }
    const ok = reports.reduce((n, r) => n + r.ok, 0);
    return {
      ok,
      failed: reports.reduce((n, r) => n + r.failed, 0),
      errors,
      elapsed_ms: elapsed,
      connects_per_second: Math.round((ok / Math.max(1, elapsed)) * 1000),
      connect_latency: latency.summary(),
    };
  }

  /** Every sending client sends once per `intervalMs` for `durationMs`, then waits `drainMs` for deliveries. */
  async run(phase: number, intervalMs: number, durationMs: number, drainMs: number): Promise<PhaseSummary> {
    const startAt = performance.timeOrigin + performance.now() + 300;
    const reports = await Promise.all(
      this.workers.map((w) =>
        w.request<RunReport>(
          { type: 'run', phase, intervalMs, durationMs, drainMs, startAt },
          'result',
          durationMs + drainMs + 30_000,
        ),
      ),
    );
    const latency = new Histogram();
    const ackLatency = new Histogram();
    const ackErrors: Record<string, number> = {};
    const last = new Map<string, number>();
    for (const r of reports) {
      latency.merge(r.latency);
      ackLatency.merge(r.ackLatency);
      addCounts(ackErrors, r.ackErrors);
      for (const [id, us] of Object.entries(r.lastReceipt)) if (us > (last.get(id) ?? -1)) last.set(id, us);
    }
    const toLastMember = new Histogram();
    for (const us of last.values()) toLastMember.record(us);
    const sum = (f: (r: RunReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    return {
      sent: sum((r) => r.sent),
      acked: sum((r) => r.acked),
      ack_errors: ackErrors,
      received: sum((r) => r.received),
      duplicates: sum((r) => r.duplicates),
      latency,
      ackLatency,
      toLastMember,
      generator_cpu_seconds: sum((r) => r.cpuMicros) / 1_000_000,
    };
  }

  async flow(intervalMs: number): Promise<void> {
    for (const w of this.workers) w.child.send({ type: 'flow', intervalMs } satisfies ToWorker);
  }

  stopFlow(settleMs: number): Promise<FlowReport[]> {
    return Promise.all(
      this.workers.map((w) =>
        w.request<FlowReport>({ type: 'stop_flow', settleMs }, 'flow_stopped', settleMs + 30_000),
      ),
    );
  }

  collect(): Promise<CollectReport[]> {
    return Promise.all(
      this.workers.map((w) => w.request<CollectReport>({ type: 'collect' }, 'collected', 120_000)),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map((w) => w.request({ type: 'close' }, 'closed', 10_000).catch(() => undefined)),
    );
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
}
