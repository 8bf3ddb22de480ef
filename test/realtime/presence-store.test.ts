// Presence stores: first connection makes a user online, the last one offline; Redis entries of a dead instance expire.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryPresence, type PresenceStore, RedisPresence } from '../../src/platform/presence.js';
import { usingRedis } from '../helpers/app.js';

function contract(name: string, make: (ttlMs: number) => PresenceStore) {
  describe(name, () => {
    it('is online from the first connection to the last', async () => {
      const store = make(60_000);
      expect(await store.connect('u1', 'a')).toBe(true);
      expect(await store.connect('u1', 'b')).toBe(false);
      expect(await store.online(['u1', 'u2'])).toEqual(new Set(['u1']));
      expect(await store.disconnect('u1', 'a')).toBe(false);
      expect(await store.disconnect('u1', 'b')).toBe(true);
      expect(await store.online(['u1'])).toEqual(new Set());
    });

    it('ignores the disconnection of an unknown connection', async () => {
      const store = make(60_000);
      expect(await store.disconnect('nobody', 'x')).toBe(false);
      await store.connect('u3', 'a');
      expect(await store.disconnect('u3', 'other')).toBe(false);
      expect(await store.online(['u3'])).toEqual(new Set(['u3']));
    });

    it('answers an empty query', async () => {
      expect(await make(60_000).online([])).toEqual(new Set());
    });
  });
}

contract('MemoryPresence', () => new MemoryPresence());

// Runs only with TEST_REDIS_URL (CI always sets it); the embedded pass reports it skipped.
describe.runIf(usingRedis)('RedisPresence (needs Redis: TEST_REDIS_URL)', () => {
  const redis = usingRedis ? new Redis(process.env.TEST_REDIS_URL as string) : undefined;
  const prefix = `tma-test:${randomBytes(6).toString('hex')}:`;
  afterAll(async () => {
    await redis?.quit();
  });

  contract(
    'contract',
    (ttl) => new RedisPresence(redis as Redis, `${prefix}${randomBytes(3).toString('hex')}:`, ttl),
  );

  it('expires the connections of an instance that stopped refreshing them (a crash)', async () => {
    // Expiry times come from this process's clock: move the clock (only Date) instead of waiting. Redis's own
    // key expiry stays a minute or more away in real time.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const store = new RedisPresence(redis as Redis, `${prefix}crash:`, 60_000);
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
    const store = new RedisPresence(redis as Redis, `${prefix}hb:`, 60_000);
    await store.connect('u1', 'a');
    await store.disconnect('u1', 'a');
    await store.heartbeat([{ userId: 'u1', connectionId: 'a' }]);
    expect(await store.online(['u1'])).toEqual(new Set());
  });

  it('restores live connections that Redis does not know (made during an outage)', async () => {
    const store = new RedisPresence(redis as Redis, `${prefix}restore:`, 60_000);
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
