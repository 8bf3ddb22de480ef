// The per-IP request limit applied to WebSocket upgrades (Socket.IO and /ws): a handshake is a request, so a
// flood of them, with or without a token, spends the same RATE_LIMIT_GLOBAL_PER_MINUTE budget as REST calls.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Io } from './fanout.js';

/** Seconds to wait before the next upgrade from this client, or 0 when it may go ahead. */
export type UpgradeLimit = (req: IncomingMessage) => Promise<number>;

/** The client address as Fastify computes `request.ip`: the left-most X-Forwarded-For entry behind a trusted proxy. */
function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string') {
    const first = forwarded.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

export function upgradeLimit(limiter: RateLimiterAbstract, trustProxy: boolean): UpgradeLimit {
  return async (req) => {
    try {
      await limiter.consume(clientIp(req, trustProxy));
      return 0;
    } catch (rejection) {
      // A store failure beyond the insurance limiter lets the upgrade through, as for REST.
      return rejection instanceof RateLimiterRes ? Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) : 0;
    }
  };
}

const body = JSON.stringify({
  success: false,
  data: null,
  error: { code: 'rate_limited', message: 'Too many requests' },
});

/** Answers an upgrade with 429 and Retry-After on the raw socket, before any WebSocket handshake. */
export function refuseUpgradeRateLimited(socket: Duplex, retryAfter: number): void {
  socket.on('error', () => socket.destroy());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: ${retryAfter}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Socket.IO: an engine middleware, so upgrades and polling requests alike spend the budget. */
export function guardEngineRate(io: Io, limit: UpgradeLimit, onRefused: () => void): void {
  io.engine.use((req: IncomingMessage, res: ServerResponse, next: (err?: Error) => void) => {
    void limit(req).then((wait) => {
      if (wait === 0) {
        next();
        return;
      }
      onRefused();
      if (res instanceof ServerResponse) {
        res
          .writeHead(429, {
            'content-type': 'application/json',
            'retry-after': String(wait),
            connection: 'close',
          })
          .end(body);
      } else refuseUpgradeRateLimited(req.socket, wait);
    });
  });
}
