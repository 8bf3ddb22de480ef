// The Redis presence store: the shared contract, plus expiry after a crash, heartbeats, restores, and Redis loss.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RedisPresence } from '../../src/platform/presence.js';
import { presenceContract } from '../helpers/presence-contract.js';

describe('RedisPresence (needs Redis: TEST_REDIS_URL)', () => {
  const redis = new Redis(process.env.TEST_REDIS_URL as string);
  const prefix = `tma-test:${randomBytes(6).toString('hex')}:`;
  afterAll(async () => {
    await redis.quit();
  });

  presenceContract(
    'contract',
    (ttl) => new RedisPresence(redis, `${prefix}${randomBytes(3).toString('hex')}:`, ttl),
  );

  it('expires the connections of an instance that stopped refreshing them (a crash)', async () => {
    // Expiry times come from this process's clock: move the clock (only Date) instead of waiting. Redis's own
    // key expiry stays a minute or more away in real time.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const store = new RedisPresence(redis, `${prefix}crash:`, 60_000);
      await store.connect('u1', 'crashed');
      await store.connect('u2', 'alive');
      vi.setSystemTime(Date.now() + 30_000);
      await store.heartbeat([{ userId: 'u2', connectionId: 'alive' }]);
      vi.setSystemTime(Date.now() + 40_000);
      expect(await store.online(['u1', 'u2'])).toEqual(new Set(['u2']));
      // Coming back after the expiry counts as going online again.
      expect(await store.connect('u1', 'again')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not resurrect a removed connection on heartbeat', async () => {
    const store = new RedisPresence(redis, `${prefix}hb:`, 60_000);
    await store.connect('u1', 'a');
    await store.disconnect('u1', 'a');
    await store.heartbeat([{ userId: 'u1', connectionId: 'a' }]);
    expect(await store.online(['u1'])).toEqual(new Set());
  });

  it('restores live connections that Redis does not know (made during an outage)', async () => {
    const store = new RedisPresence(redis, `${prefix}restore:`, 60_000);
    await store.restore([{ userId: 'u1', connectionId: 'during-outage' }]);
    expect(await store.online(['u1'])).toEqual(new Set(['u1']));
    expect(await store.disconnect('u1', 'during-outage')).toBe(true);
  });

  it('fails at once while Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    dead.on('error', () => {});
    await dead.connect().catch(() => undefined);
    const store = new RedisPresence(dead, prefix, 60_000);
    await expect(store.connect('u1', 'a')).rejects.toThrow(/unavailable/);
    dead.disconnect();
  });
});
