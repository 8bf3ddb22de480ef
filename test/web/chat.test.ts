// Acceptance e2e in a real browser (playwright-core driving Debian's chromium) against the app on a real port;
// writes the screenshots in docs/screenshots/. The two-instance variant is chat.pg.test.ts.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { chatScenario, haveChromium } from './e2e.js';

describe.runIf(haveChromium || process.env.CI)('the web client in a browser', () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    app = await buildTestApp();
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);
  // The close drains sockets and waits for running jobs, each within SHUTDOWN_TIMEOUT_MS: slow on a loaded box.
  afterAll(async () => {
    await app?.close();
  }, 120_000);

  it('serves the client at / with its caching and CSP, and falls back to it for client routes', async () => {
    const index = await fetch(`${url}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    const deep = await fetch(`${url}/c/0190a0a0-0000-7000-8000-000000000000`, {
      headers: { accept: 'text/html' },
    });
    expect(await deep.text()).toBe(html);
    // API paths, unknown assets and non-HTML requests keep the JSON 404.
    for (const [path, accept] of [
      ['/api/v1/nope', 'text/html'],
      ['/assets/missing.js', 'text/html'],
      ['/some/page', 'application/json'],
    ]) {
      const res = await fetch(`${url}${path}`, { headers: { accept } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('two people chat live, react, reply, edit, delete, and one catches up 20 messages after being offline', async () => {
    await chatScenario({ a: url, b: url }, { screenshots: true });
  }, 300_000);
});
