// The browser client (web/, built by Vite into web/dist) served at `/`: hashed files under /assets/ cached for a
// year, index.html never cached, and every other GET that asks for HTML and is not an API path answered with
// index.html (the client routes by path). Same origin for the API and sockets, so the CSP of browser.ts
// (script-src 'self', connect-src 'self') covers it unchanged: the build has no inline script.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './error-handler.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};
/** Paths the server owns: never the SPA fallback (unknown ones keep the JSON 404). */
const SERVER_PATHS = /^\/(api|health|metrics|socket\.io|ws|docs|redoc|openapi\.json|assets)(\/|$)/;

/** web/dist from the source tree (tsx) or from the compiled one (dist/src/http). */
export function webDistDir(): string | null {
  for (const candidate of ['../../web/dist', '../../../web/dist']) {
    const dir = resolve(import.meta.dirname, candidate);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else
        assets.set(`/${rel}`, {
          body: readFileSync(join(dir, rel)),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
        });
    }
  };
  walk('');
  return assets;
}

export function registerWebClient(app: FastifyInstance, dir: string | null = webDistDir()): void {
  if (!dir) {
    app.log.warn('web client not built (web/dist missing): `/` is not served; run `npm run web:build`');
    return;
  }
  // A few hundred KB: kept in memory, read once at startup.
  const assets = loadAssets(dir);
  const index = assets.get('/index.html')!;
  const sendIndex = (reply: FastifyReply) =>
    reply.type(index.type).header('cache-control', 'no-cache').send(index.body);
  const route = { config: { public: true }, schema: { hide: true } };

  app.get('/', route, async (_request, reply) => sendIndex(reply));
  app.get('/assets/*', route, async (request, reply) => {
    const asset = assets.get(request.url.split('?')[0]!);
    if (!asset) return notFound(request, reply);
    // Vite puts a content hash in every file name under assets/: it never changes.
    return reply
      .type(asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(asset.body);
  });
  // Not a route: a file at the top of web/dist, or a client route (index.html) for a browser asking for a page.
  // A hook rather than a `/*` route, so that unknown API paths keep every answer the router gives them (404, 414).
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== undefined || (request.method !== 'GET' && request.method !== 'HEAD'))
      return;
    const path = request.url.split('?')[0]!;
    const asset = assets.get(path);
    if (asset && path !== '/index.html') {
      return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
    }
    if (SERVER_PATHS.test(path) || !(request.headers.accept ?? '').includes('text/html')) return;
    return sendIndex(reply);
  });
}

function notFound(request: FastifyRequest, reply: FastifyReply) {
  return sendError(reply, 404, 'not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`);
}
