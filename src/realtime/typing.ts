// Typing indicators: sent to viewers only, throttled, and stopped by themselves after a quiet period.
import type { Fanout } from './fanout.js';
import { rooms } from './protocol.js';

interface TypingState {
  timer: NodeJS.Timeout;
  lastSentAt: number;
}

export class TypingTracker {
  /** key: `${userId}:${conversationId}` for typing started on this instance. */
  private readonly active = new Map<string, TypingState>();

  constructor(
    private readonly fanout: Fanout,
    private readonly expireMs: number,
    private readonly throttleMs: number,
  ) {}

  /** Returns whether a `typing: true` was broadcast (false when throttled: the expiry is just pushed back). */
  start(userId: string, conversationId: string): boolean {
    const key = `${userId}:${conversationId}`;
    const now = Date.now();
    const state = this.active.get(key);
    if (state) {
      clearTimeout(state.timer);
      state.timer = this.expiry(userId, conversationId);
      if (now - state.lastSentAt < this.throttleMs) return false;
      state.lastSentAt = now;
    } else {
      this.active.set(key, { timer: this.expiry(userId, conversationId), lastSentAt: now });
    }
    this.send(userId, conversationId, true);
    return true;
  }

  /** Returns whether a `typing: false` was broadcast (only when the user was typing). */
  stop(userId: string, conversationId: string): boolean {
    const key = `${userId}:${conversationId}`;
    const state = this.active.get(key);
    if (!state) return false;
    clearTimeout(state.timer);
    this.active.delete(key);
    this.send(userId, conversationId, false);
    return true;
  }

  /** A user's last socket here went away, or they left: stop all their indicators. */
  stopAll(userId: string, conversationId?: string): void {
    for (const key of [...this.active.keys()]) {
      const [uid, cid] = key.split(':') as [string, string];
      if (uid === userId && (conversationId === undefined || cid === conversationId)) this.stop(uid, cid);
    }
  }

  close(): void {
    for (const state of this.active.values()) clearTimeout(state.timer);
    this.active.clear();
  }

  private expiry(userId: string, conversationId: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.stop(userId, conversationId), this.expireMs);
    timer.unref();
    return timer;
  }

  private send(userId: string, conversationId: string, typing: boolean): void {
    this.fanout.emit(
      rooms.view(conversationId),
      'user_typing',
      { conversation_id: conversationId, user_id: userId, typing },
      rooms.user(userId),
    );
  }
}
