// .env.example documents every variable src/config.ts reads, each with a comment, and nothing it does not read.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const source = readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8');
const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

/** Names in the source: `env.X`, `env['X']`, and every quoted upper-case name (reader calls, name lists). */
function namesInSource(): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g,
    /['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)['"`]/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) names.add(match[1] as string);
  return names;
}

/** Names loadConfig actually looks up, whichever way it reads them, on each branch (tms, s3). */
function namesRead(): Set<string> {
  const names = new Set<string>();
  const branches: Array<Record<string, string>> = [
    {},
    { AUTH_MODE: 'tms', TMS_API_URL: 'https://tms.example', JWT_SECRET: 'x'.repeat(32) },
    { STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' },
    { METRICS_PORT: '9464' },
  ];
  for (const values of branches) {
    const env = new Proxy(values, {
      get(target, key) {
        if (typeof key === 'string') names.add(key);
        return Reflect.get(target, key);
      },
    });
    try {
      loadConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  }
  return names;
}

/** `# NAME=value   # comment` lines of .env.example, by name. */
function documented(): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of example.split('\n')) {
    const match = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (match) lines.set(match[1] as string, line);
  }
  return lines;
}

describe('.env.example', () => {
  it('lists every variable src/config.ts reads', () => {
    const read = new Set([...namesInSource(), ...namesRead()]);
    expect(read.size).toBeGreaterThan(50);
    expect(read).toContain('METRICS_TOKEN');
    const missing = [...read].filter((name) => !documented().has(name)).sort();
    expect(missing).toEqual([]);
  });

  it('lists no variable the configuration ignores', () => {
    const read = new Set([...namesInSource(), ...namesRead()]);
    const stale = [...documented().keys()].filter((name) => !read.has(name));
    expect(stale).toEqual([]);
  });

  it('gives each variable a short comment', () => {
    const bare = [...documented()]
      .filter(([, line]) => !/\s#\s+\S/.test(line.slice(2)))
      .map(([name]) => name);
    expect(bare).toEqual([]);
  });
});
