// Who is looking at a conversation right now: a socket that sent join_conversation (and not leave_conversation) is
// viewing it until it leaves, disconnects or the entry expires. In process, or in Redis for every instance.
import type { Redis } from 'ioredis';

export interface ViewingStore {
  view(userId: string, connectionId: string, conversationId: string): Promise<void>;
  leave(userId: string, connectionId: string, conversationId: string): Promise<void>;
  /** The connection is gone: it views nothing any more. */
  clear(userId: string, connectionId: string): Promise<void>;
  /** The subset of userIds with a device viewing the conversation. */
  viewers(conversationId: string, userIds: readonly string[]): Promise<Set<string>>;
}

/** A view lasts at most this long without being renewed (a crashed instance's entries go by themselves). */
export const VIEW_TTL_MS = 3600_000;

export class MemoryViewing implements ViewingStore {
  /** conversation -> "user|connection" -> expiry */
  private readonly byConversation = new Map<string, Map<string, number>>();
  private readonly byConnection = new Map<string, Set<string>>();

  async view(userId: string, connectionId: string, conversationId: string): Promise<void> {
    const views = this.byConversation.get(conversationId) ?? new Map<string, number>();
    this.byConversation.set(conversationId, views);
    views.set(`${userId}|${connectionId}`, Date.now() + VIEW_TTL_MS);
    const conversations = this.byConnection.get(connectionId) ?? new Set<string>();
    this.byConnection.set(connectionId, conversations);
    conversations.add(conversationId);
  }

  async leave(userId: string, connectionId: string, conversationId: string): Promise<void> {
    const views = this.byConversation.get(conversationId);
    views?.delete(`${userId}|${connectionId}`);
    if (views?.size === 0) this.byConversation.delete(conversationId);
    this.byConnection.get(connectionId)?.delete(conversationId);
  }

  async clear(userId: string, connectionId: string): Promise<void> {
    for (const conversationId of this.byConnection.get(connectionId) ?? []) {
      await this.leave(userId, connectionId, conversationId);
    }
    this.byConnection.delete(connectionId);
  }

  async viewers(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    const views = this.byConversation.get(conversationId);
    const out = new Set<string>();
    if (!views) return out;
    const now = Date.now();
    const wanted = new Set(userIds);
    for (const [key, expiry] of views) {
      const userId = key.slice(0, key.indexOf('|'));
      if (expiry > now && wanted.has(userId)) out.add(userId);
    }
    return out;
  }
}

/** `viewing:{conversation}`: sorted set of "user|connection" scored by expiry; `viewing-conn:{id}`: its conversations. */
export class RedisViewing implements ViewingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async view(userId: string, connectionId: string, conversationId: string): Promise<void> {
    const expiry = Date.now() + VIEW_TTL_MS;
    await this.redis
      .multi()
      .zadd(this.key(conversationId), expiry, `${userId}|${connectionId}`)
      .pexpire(this.key(conversationId), VIEW_TTL_MS)
      .sadd(this.connKey(connectionId), conversationId)
      .pexpire(this.connKey(connectionId), VIEW_TTL_MS)
      .exec();
  }

  async leave(userId: string, connectionId: string, conversationId: string): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.key(conversationId), `${userId}|${connectionId}`)
      .srem(this.connKey(connectionId), conversationId)
      .exec();
  }

  async clear(userId: string, connectionId: string): Promise<void> {
    const conversations = await this.redis.smembers(this.connKey(connectionId));
    const multi = this.redis.multi();
    for (const id of conversations) multi.zrem(this.key(id), `${userId}|${connectionId}`);
    multi.del(this.connKey(connectionId));
    await multi.exec();
  }

  async viewers(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    const members = await this.redis.zrangebyscore(this.key(conversationId), Date.now(), '+inf');
    const wanted = new Set(userIds);
    return new Set(members.map((m) => m.slice(0, m.indexOf('|'))).filter((id) => wanted.has(id)));
  }

  private key(conversationId: string): string {
    return `${this.prefix}viewing:${conversationId}`;
  }

  private connKey(connectionId: string): string {
    return `${this.prefix}viewing-conn:${connectionId}`;
  }
}
