// Origin checks on WebSocket upgrades (Socket.IO and /ws): a browser's Origin must be in ALLOWED_ORIGINS.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Io } from './fanout.js';

/** True when the request may open a socket; browsers always send Origin on a WebSocket upgrade. */
export type OriginCheck = (req: IncomingMessage) => boolean;

export const ORIGIN_REFUSED = { code: 'origin_not_allowed', message: 'This origin may not open sockets' };

/** `scheme://host[:port]` of an http(s) URL, lower-cased; undefined for anything else (`null`, junk). */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * No Origin (a native client) passes, and so does a page of this server (Origin host = Host); any other
 * Origin must be in the allowlist, unless it holds `*`.
 */
export function originCheck(allowedOrigins: readonly string[]): OriginCheck {
  if (allowedOrigins.includes('*')) return () => true;
  const allowed = new Set(allowedOrigins.map(originOf).filter((o): o is string => o !== undefined));
  return (req) => {
    const header = req.headers.origin;
    if (header === undefined) return true;
    const origin = originOf(header);
    if (origin === undefined) return false;
    if (allowed.has(origin)) return true;
    const host = req.headers.host?.toLowerCase();
    return host !== undefined && new URL(origin).host === host;
  };
}

const refusalBody = JSON.stringify({ success: false, data: null, error: ORIGIN_REFUSED });

/** Answers an upgrade with 403 on the raw socket, before any WebSocket handshake. */
export function refuseUpgrade(socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  if (socket.writable) {
    socket.write(
      'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(refusalBody)}\r\n\r\n${refusalBody}`,
    );
  }
  socket.destroy();
}

/** Socket.IO: checked by an engine middleware, so upgrades and polling requests alike get 403. */
export function guardEngineOrigins(io: Io, allowed: OriginCheck, onRefused: () => void): void {
  io.engine.use((req: IncomingMessage, res: ServerResponse, next: (err?: Error) => void) => {
    if (allowed(req)) {
      next();
      return;
    }
    onRefused();
    // On an upgrade `res` is engine.io's stand-in; the client's socket is the request's.
    if (res instanceof ServerResponse) {
      res.writeHead(403, { 'content-type': 'application/json', connection: 'close' }).end(refusalBody);
    } else refuseUpgrade(req.socket);
  });
}
