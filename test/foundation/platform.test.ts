import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../src/db/data-dir-lock.js';
import { openDatabase } from '../../src/db/database.js';
import { MemoryCache } from '../../src/platform/cache.js';
import { buildTestApp, testConfig } from '../helpers/app.js';

describe('MemoryCache', () => {
  it('stores values and evicts the least recently used over capacity', async () => {
    const cache = new MemoryCache(2);
    await cache.set('a', { v: 1 }, 60);
    await cache.set('b', 2, 60);
    expect(await cache.get('a')).toEqual({ v: 1 });
    await cache.set('c', 3, 60);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toEqual({ v: 1 });
    expect(await cache.get('c')).toBe(3);
    await cache.set('gone', 1, 0);
    expect(await cache.get('gone')).toBeUndefined();
    await cache.delete('c');
    expect(await cache.get('c')).toBeUndefined();
  });

  it('expires each entry after its own TTL, and holds null', async () => {
    vi.useFakeTimers();
    try {
      const cache = new MemoryCache();
      await cache.set('short', null, 1);
      await cache.set('long', 'kept', 60);
      expect(await cache.get('short')).toBeNull();
      vi.advanceTimersByTime(1500);
      expect(await cache.get('short')).toBeUndefined();
      expect(await cache.get('long')).toBe('kept');
      vi.advanceTimersByTime(60_000);
      expect(await cache.get('long')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('data directory lock', () => {
  it('refuses a live owner and takes over a stale lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tma-lock-'));
    const lock = lockDataDir(dir);
    // Same process holding it counts as stale for itself, so fake a live foreign owner: pid 1 always exists.
    lock.release();
    writeFileSync(join(dir, 'tma.lock'), '1');
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    writeFileSync(join(dir, 'tma.lock'), '999999999');
    const taken = lockDataDir(dir);
    taken.release();
    taken.release();
  });
});

describe('slow query log', () => {
  it('logs queries slower than SLOW_QUERY_MS with their SQL and counts every query', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const config = testConfig({ SLOW_QUERY_MS: '0' });
    const database = await openDatabase(config, logger);
    try {
      await sql`SELECT 1 AS one`.execute(database.db);
      expect(database.stats.queries).toBe(1);
      expect(lines.some((l) => l.includes('slow query') && l.includes('SELECT 1 AS one'))).toBe(true);
    } finally {
      await database.close();
    }
  });
});

describe('/health/ready with Redis down', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // Nothing listens on port 1: the Redis check fails while the database stays up.
    app = await buildTestApp({}, { redisUrl: 'redis://127.0.0.1:1', redisKeyPrefix: 'tma-test-down:' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 503, status degraded, naming redis', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.success).toBe(false);
    expect(body.data.status).toBe('degraded');
    expect(body.data.checks.redis.status).toBe('down');
    expect(body.data.checks.database.status).toBe('up');
    expect(body.error.message).toContain('redis');
  });
});

describe('global rate limit', () => {
  it('answers 429 with Retry-After past the per-IP budget', async () => {
    const app = await buildTestApp({ RATE_LIMIT_GLOBAL_PER_MINUTE: '3' });
    try {
      app.get('/__open', { config: { public: true } }, async () => ({
        success: true,
        data: null,
        error: null,
      }));
      const codes: number[] = [];
      let last: Awaited<ReturnType<typeof app.inject>> | undefined;
      for (let i = 0; i < 4; i++) {
        last = await app.inject({ method: 'GET', url: '/__open' });
        codes.push(last.statusCode);
      }
      expect(codes).toEqual([200, 200, 200, 429]);
      expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
      expect(last?.json().error.code).toBe('rate_limited');
    } finally {
      await app.close();
    }
  });
});

describe('closing the app', () => {
  it('goes on past a resource that never finishes closing, after the shutdown timeout and 5 s', async () => {
    const app = await buildTestApp({ SHUTDOWN_TIMEOUT_MS: '1000' });
    const closed: string[] = [];
    // Registered last, so it closes first: everything registered before it must still be released.
    app.tma.onClose(() => new Promise<void>(() => undefined));
    app.tma.onClose(() => {
      closed.push('after the hanging one');
    });
    const started = Date.now();
    await app.close();
    const took = Date.now() - started;
    expect(closed).toEqual(['after the hanging one']);
    expect(took).toBeGreaterThanOrEqual(5500);
    // The database (registered first, closed last) was closed too.
    await expect(sql`SELECT 1`.execute(app.tma.db)).rejects.toThrow();
  }, 60_000);
});
