// Who is online: a per-user set of live connection ids, in process (embedded) or in Redis (every instance).
import type { Redis } from 'ioredis';

export interface PresenceStore {
  /** Records a connection; true when it made the user go from offline to online. */
  connect(userId: string, connectionId: string): Promise<boolean>;
  /** Forgets a connection; true when the user has no connection left anywhere. */
  disconnect(userId: string, connectionId: string): Promise<boolean>;
  /** Keeps this instance's connections alive (Redis entries expire unless refreshed). */
  heartbeat(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void>;
  /** The subset of userIds online now. */
  online(userIds: readonly string[]): Promise<Set<string>>;
  /** Re-records this instance's live connections (after the store was unreachable). */
  restore(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void>;
}

export class MemoryPresence implements PresenceStore {
  private readonly users = new Map<string, Set<string>>();

  async connect(userId: string, connectionId: string): Promise<boolean> {
    let set = this.users.get(userId);
    if (!set) {
      set = new Set();
      this.users.set(userId, set);
    }
    const wasOffline = set.size === 0;
    set.add(connectionId);
    return wasOffline;
  }

  async disconnect(userId: string, connectionId: string): Promise<boolean> {
    const set = this.users.get(userId);
    if (!set?.delete(connectionId)) return false;
    if (set.size > 0) return false;
    this.users.delete(userId);
    return true;
  }

  async heartbeat(): Promise<void> {}

  async restore(): Promise<void> {}

  async online(userIds: readonly string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => (this.users.get(id)?.size ?? 0) > 0));
  }
}

// KEYS[1] user set; ARGV: connection id, now ms, expiry ms. Drops expired members (crashed instances) first.
const CONNECT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return before == 0 and 1 or 0`;
const DISCONNECT = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if removed == 0 then return 0 end
return redis.call('ZCARD', KEYS[1]) == 0 and 1 or 0`;

/**
 * One sorted set per user: member = connection id, score = expiry time. Instances refresh their own
 * connections on every heartbeat, so the connections of a crashed instance expire by themselves.
 */
export class RedisPresence implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  /** While Redis reconnects, fail at once instead of queueing behind a dead connection. */
  private available(): void {
    const { status } = this.redis;
    if (status === 'reconnecting' || status === 'close' || status === 'end') {
      throw new Error(`presence store unavailable (redis ${status})`);
    }
  }

  private key(userId: string): string {
    return `${this.prefix}presence:${userId}`;
  }

  async connect(userId: string, connectionId: string): Promise<boolean> {
    this.available();
    const now = Date.now();
    const result = await this.redis.eval(CONNECT, 1, this.key(userId), connectionId, now, now + this.ttlMs);
    return result === 1;
  }

  async disconnect(userId: string, connectionId: string): Promise<boolean> {
    this.available();
    const result = await this.redis.eval(DISCONNECT, 1, this.key(userId), connectionId, Date.now());
    return result === 1;
  }

  heartbeat(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void> {
    // XX: never resurrect a connection that was removed meanwhile.
    return this.refresh(connections, true);
  }

  restore(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void> {
    return this.refresh(connections, false);
  }

  private async refresh(
    connections: Iterable<{ userId: string; connectionId: string }>,
    existingOnly: boolean,
  ): Promise<void> {
    this.available();
    const expiry = Date.now() + this.ttlMs;
    const pipeline = this.redis.pipeline();
    let count = 0;
    for (const { userId, connectionId } of connections) {
      if (existingOnly) pipeline.zadd(this.key(userId), 'XX', expiry, connectionId);
      else pipeline.zadd(this.key(userId), expiry, connectionId);
      pipeline.pexpireat(this.key(userId), expiry);
      count++;
    }
    if (count > 0) await pipeline.exec();
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    this.available();
    const now = Date.now();
    const pipeline = this.redis.pipeline();
    for (const id of userIds) pipeline.zcount(this.key(id), `(${now}`, '+inf');
    const results = (await pipeline.exec()) ?? [];
    return new Set(userIds.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0));
  }
}
