// Performance budget (Lighthouse-style): the JavaScript a first visit loads (the entry script of index.html and the
// chunks it preloads) stays under 150 KB gzipped. Also: the built page carries no inline script (the CSP allows
// none) and references nothing outside this server.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const DIST = resolve(import.meta.dirname, '../../web/dist');
const BUDGET = 150 * 1024;

describe('the built web client', () => {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');

  it('loads under 150 KB of gzipped JavaScript up front', () => {
    const scripts = [
      ...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g),
      ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
    ].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const sizes = scripts.map((src) => gzipSync(readFileSync(join(DIST, src))).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    console.log(`[budget] initial JS: ${(total / 1024).toFixed(1)} KB gzipped (${scripts.join(', ')})`);
    expect(total).toBeLessThan(BUDGET);
  });

  it('has no inline script and no external URL', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
  });
});
