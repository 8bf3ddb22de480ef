// Realtime shutdown: track in-flight client work, drain (finish it, tell every socket to reconnect), then close.
import type { RedisAdapter } from './adapter.js';
import type { Io } from './fanout.js';
import { NAMESPACES } from './protocol.js';
import type { WsGateway } from './ws-gateway.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the server is closing, and the client work it must finish before it closes. */
export class Lifecycle {
  closing = false;
  private readonly inflight = new Set<Promise<unknown>>();

  /** Registers work a client started (a send, a presence change) that a drain waits for. */
  readonly track = <T>(work: Promise<T>): Promise<T> => {
    this.inflight.add(work);
    const done = () => this.inflight.delete(work);
    work.then(done, done);
    return work;
  };

  /** Waits for the tracked work, including work started meanwhile, for at most timeoutMs. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inflight]), wait(Math.max(1, deadline - Date.now()))]);
    }
  }
}

/** Stop accepting, finish in-flight sends, tell every socket to reconnect elsewhere; once. */
export async function drainSockets(
  lifecycle: Lifecycle,
  io: Io,
  gateway: WsGateway,
  shutdownTimeoutMs: number,
): Promise<void> {
  if (lifecycle.closing) return;
  lifecycle.closing = true;
  const budget = Math.max(1000, Math.floor(shutdownTimeoutMs / 2));
  await lifecycle.settle(budget);
  for (const name of NAMESPACES) io.of(name).local.emit('server_shutdown', { reconnect: true });
  // Closing the transport (not a server-side disconnect) makes clients reconnect by themselves.
  const connections = new Set(NAMESPACES.flatMap((n) => [...io.of(n).sockets.values()].map((s) => s.conn)));
  for (const connection of connections) connection.close();
  gateway.drain();
  const deadline = Date.now() + 2000;
  while (NAMESPACES.some((n) => io.of(n).sockets.size > 0) && Date.now() < deadline) await wait(10);
  await lifecycle.settle(budget);
}

/** Closes the transports and the adapters (after a drain). */
export async function closeTransports(
  io: Io,
  gateway: WsGateway,
  adapter: RedisAdapter | undefined,
): Promise<void> {
  gateway.close();
  io.engine.close();
  for (const name of ['/', ...NAMESPACES])
    await Promise.resolve(io.of(name).adapter.close()).catch(() => undefined);
  await adapter?.close();
}
