// A small key-value cache with TTLs: in-process (embedded) or Redis (shared by every instance).
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** In-process: least recently used entries go first past `maxEntries`; each entry has its own TTL. */
export class MemoryCache implements Cache {
  // Boxed: lru-cache refuses null and undefined values, a cache may hold them.
  private readonly entries: LRUCache<string, { value: unknown }>;

  constructor(maxEntries = 100_000) {
    // Wall-clock time (Date.now), like RedisCache's TTLs and fake timers in tests.
    this.entries = new LRUCache({ max: maxEntries, perf: Date });
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.entries.get(key)?.value as T | undefined;
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    // lru-cache reads a TTL of 0 as "never expires"; here it means "already expired".
    if (ttlSeconds <= 0) this.entries.delete(key);
    else this.entries.set(key, { value }, { ttl: ttlSeconds * 1000 });
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
}

export class RedisCache implements Cache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(this.prefix + key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.prefix + key, JSON.stringify(value), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
