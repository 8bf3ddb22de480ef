// The realtime client over Socket.IO (`/messaging`): keeps the last seq per conversation, drops duplicates, sees
// gaps and fills them with `sync` (also after every reconnect), and sends through an outbox that retries with the
// same client_id until the server answers, so a message is stored once whatever the network does.
import { io as defaultIo, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { Emitter } from './emitter.js';
import {
  type Ack,
  type AckError,
  type ClientEvents,
  type ConnectionState,
  type ConversationEvent,
  type Message,
  type PendingSend,
  type Presence,
  SEQUENCED_EVENTS,
  type SequencedEventName,
  type SequencedEvents,
  type ServerEvents,
  type SyncResult,
  UNSEQUENCED_EVENTS,
} from './types.js';

export type RealtimeEvents = ServerEvents & ClientEvents;

export interface RealtimeOptions {
  /** The server's origin (`http://host:port`); '' or undefined for the page's own origin. */
  url?: string;
  /** The current access token (read on every (re)connect). */
  getToken: () => string | null | undefined;
  /** Called when the handshake says token_expired; resolve true when a new token is ready. */
  refresh?: () => Promise<boolean>;
  /** Milliseconds to wait for an ack before a send is retried (default 10 s). */
  ackTimeoutMs?: number;
  /** Extra Socket.IO options (tests pass `forceNew`, transports, ...). */
  socket?: Partial<ManagerOptions & SocketOptions>;
  io?: typeof defaultIo;
}

/** Errors after which retrying the same send cannot succeed: the send leaves the outbox. */
const PERMANENT = new Set([
  'not_found',
  'forbidden',
  'blocked',
  'validation_error',
  'client_id_conflict',
  'not_member',
  'payload_too_large',
]);
const SYNC_BATCH = 100;

function newClientId(): string {
  return globalThis.crypto.randomUUID();
}

/** A stored conversation event (from `sync`) as the live event the server would have sent. */
export function liveEventFromLog(
  event: ConversationEvent,
): { [E in SequencedEventName]: { name: E; payload: SequencedEvents[E] } }[SequencedEventName] | null {
  const p = event.payload as Record<string, unknown>;
  const base = { conversation_id: event.conversation_id, seq: event.seq };
  const messageId = event.message_id ?? '';
  const actor = event.actor_id ?? '';
  switch (event.type) {
    case 'message.created':
      return p.message ? { name: 'new_message', payload: p.message as Message } : null;
    case 'message.updated':
      return p.message
        ? { name: 'message_updated', payload: { ...(p.message as Message), event_seq: event.seq } }
        : null;
    case 'message.deleted':
      return { name: 'message_deleted', payload: { ...base, message_id: messageId } };
    case 'reaction.added':
    case 'reaction.removed':
      return {
        name: event.type === 'reaction.added' ? 'reaction_added' : 'reaction_removed',
        payload: {
          ...base,
          message_id: messageId,
          user_id: String(p.user_id ?? actor),
          emoji: String(p.emoji),
        },
      };
    case 'message.pinned':
      return {
        name: 'message_pinned',
        payload: { ...base, message_id: messageId, user_id: actor, pinned: p.pinned === true },
      };
    case 'poll.updated':
      return {
        name: 'poll_updated',
        payload: { ...base, poll_id: String(p.poll_id), message_id: messageId },
      };
    case 'conversation.updated':
      return {
        name: 'conversation_updated',
        payload: { ...base, changes: (p.changes ?? {}) as Record<string, unknown>, actor_id: actor },
      };
    case 'member.added':
      return {
        name: 'member_added',
        payload: { ...base, user_ids: (p.user_ids ?? []) as string[], actor_id: actor },
      };
    case 'member.removed':
      return {
        name: 'member_removed',
        payload: {
          ...base,
          user_id: String(p.user_id),
          actor_id: actor,
          reason: p.reason === 'left' ? 'left' : 'removed',
        },
      };
    case 'member.updated':
      return {
        name: 'member_updated',
        payload: {
          ...base,
          user_id: String(p.user_id),
          role: p.role === 'admin' ? 'admin' : 'member',
          actor_id: actor,
        },
      };
    default:
      return null;
  }
}

export class TmaRealtime extends Emitter<RealtimeEvents> {
  readonly socket: Socket;
  private readonly cursors = new Map<string, number>();
  private readonly queue: PendingSend[] = [];
  private currentState: ConnectionState = 'closed';
  private flushing = false;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly ackTimeoutMs: number;
  private wanted = false;

  constructor(options: RealtimeOptions) {
    super();
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    const io = options.io ?? defaultIo;
    this.socket = io(`${options.url ?? ''}/messaging`, {
      transports: ['websocket'],
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      ...options.socket,
      auth: (cb: (data: object) => void) => cb({ token: options.getToken() ?? '' }),
    });
    this.socket.on('connect', () => {
      this.setState('connected');
      // Catch up first (events missed while away), then send what waited.
      void this.sync().finally(() => this.flush());
    });
    this.socket.on('disconnect', (reason) => {
      if (!this.wanted) return this.setState('closed');
      // A server-side disconnect (session ended) does not reconnect by itself.
      if (reason === 'io server disconnect') return this.setState('closed');
      this.setState(this.currentState === 'offline' ? 'offline' : 'reconnecting');
    });
    this.socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      const code = error.data?.code;
      if (code === 'token_expired' && options.refresh) {
        void options.refresh().then((ok) => {
          if (ok && this.wanted) this.socket.connect();
        });
      } else if (code && code !== 'server_shutting_down') {
        this.emit('auth_error', { code });
      }
      if (this.currentState !== 'offline') this.setState('reconnecting');
    });
    for (const name of SEQUENCED_EVENTS) {
      this.socket.on(name, (payload: SequencedEvents[typeof name]) => this.onSequenced(name, payload));
    }
    for (const name of UNSEQUENCED_EVENTS) {
      this.socket.on(name, (payload: ServerEvents[typeof name]) => this.emit(name, payload));
    }
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get outbox(): readonly PendingSend[] {
    return this.queue;
  }

  connect(): void {
    this.wanted = true;
    if (this.socket.connected) return;
    this.setState(this.currentState === 'closed' ? 'connecting' : this.currentState);
    this.socket.connect();
  }

  /** Closes the socket for good (sign out); the outbox stays and goes out after the next connect(). */
  close(): void {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.setState('closed');
  }

  /** The device lost the network (the browser's `offline` event): stop trying until online(). */
  offline(): void {
    if (!this.wanted) return;
    this.setState('offline');
    this.socket.disconnect();
  }

  online(): void {
    if (!this.wanted) return;
    this.setState('reconnecting');
    this.socket.connect();
  }

  /** The last seq applied for a conversation (undefined when not tracked). */
  cursor(conversationId: string): number | undefined {
    return this.cursors.get(conversationId);
  }

  /** Starts tracking a conversation at the seq the caller has loaded up to; never moves a cursor back. */
  track(conversationId: string, lastSeq: number): void {
    const current = this.cursors.get(conversationId);
    if (current === undefined || lastSeq > current) this.cursors.set(conversationId, lastSeq);
  }

  untrack(conversationId: string): void {
    this.cursors.delete(conversationId);
  }

  /** A client event with an ack; `{ok: false, error: {code: 'timeout'|'offline'}}` when none came. */
  request<T>(event: string, payload: unknown, timeoutMs = this.ackTimeoutMs): Promise<Ack<T>> {
    if (!this.socket.connected) {
      return Promise.resolve({ ok: false, error: { code: 'offline', message: 'Not connected' } });
    }
    return new Promise((resolve) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (error: Error | null, ack: Ack<T>) => {
        resolve(error ? { ok: false, error: { code: 'timeout', message: 'No answer in time' } } : ack);
      });
    });
  }

  /**
   * Queues a message; it goes out now when connected, else after the next connect, always with the same
   * client_id. Sends leave in order, one at a time. The `sent` event (and the live `new_message`) follow.
   */
  send(
    conversationId: string,
    content: string,
    options: { reply_to_id?: string; client_id?: string } = {},
  ): PendingSend {
    const pending: PendingSend = {
      client_id: options.client_id ?? newClientId(),
      conversation_id: conversationId,
      content,
      queued_at: Date.now(),
      attempts: 0,
      ...(options.reply_to_id ? { reply_to_id: options.reply_to_id } : {}),
    };
    this.queue.push(pending);
    this.emit('outbox', [...this.queue]);
    void this.flush();
    return pending;
  }

  joinConversation(conversationId: string) {
    return this.request<{ conversation_id: string }>('join_conversation', {
      conversation_id: conversationId,
    });
  }
  leaveConversation(conversationId: string) {
    return this.request<{ conversation_id: string }>('leave_conversation', {
      conversation_id: conversationId,
    });
  }
  typing(conversationId: string, typing: boolean) {
    return this.request(typing ? 'typing_start' : 'typing_stop', { conversation_id: conversationId });
  }
  markRead(conversationId: string, seq: number) {
    return this.request('message_read', { conversation_id: conversationId, seq });
  }
  markDelivered(conversationId: string, seq: number) {
    return this.request('message_delivered', { conversation_id: conversationId, seq });
  }
  presence(userIds: string[]) {
    return this.request<Presence[]>('presence', { user_ids: userIds });
  }

  /** Fetches every event after each cursor (and learns of new conversations); concurrent calls share one run. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = this.runSync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async runSync(): Promise<void> {
    let events = 0;
    do {
      this.syncAgain = false;
      let more = true;
      let first = true;
      while (more) {
        more = false;
        const ids = [...this.cursors.keys()];
        const batches: string[][] = [];
        for (let i = 0; i < ids.length; i += SYNC_BATCH) batches.push(ids.slice(i, i + SYNC_BATCH));
        if (first && batches.length === 0) batches.push([]);
        first = false;
        for (const batch of batches) {
          const cursors = Object.fromEntries(batch.map((id) => [id, this.cursors.get(id) ?? 0]));
          const ack = await this.request<SyncResult>('sync', { cursors, limit: 100 });
          if (!ack.ok) return; // offline again: the next connect syncs
          for (const entry of ack.data.conversations) {
            const id = entry.conversation_id;
            if (entry.status === 'not_found') {
              this.cursors.delete(id);
              this.emit('removed', { conversation_id: id });
              continue;
            }
            if (entry.status === 'cursor_expired') {
              this.cursors.set(id, entry.last_seq);
              this.emit('reset', { conversation_id: id, last_seq: entry.last_seq });
              continue;
            }
            for (const event of entry.events) {
              const cursor = this.cursors.get(id) ?? 0;
              if (event.seq <= cursor) continue;
              this.cursors.set(id, event.seq);
              events++;
              const live = liveEventFromLog(event);
              if (live) this.emit(live.name, live.payload as never);
            }
            if (entry.has_more) more = true;
          }
          for (const membership of ack.data.memberships) {
            if (this.cursors.has(membership.conversation_id)) continue;
            this.cursors.set(membership.conversation_id, membership.last_seq);
            this.emit('discovered', membership);
          }
        }
      }
    } while (this.syncAgain);
    this.emit('synced', { conversations: this.cursors.size, events });
  }

  private onSequenced<E extends SequencedEventName>(name: E, payload: SequencedEvents[E]): void {
    const id = payload.conversation_id;
    const seq =
      name === 'message_updated' ? (payload as SequencedEvents['message_updated']).event_seq : payload.seq;
    const cursor = this.cursors.get(id);
    if (cursor !== undefined) {
      if (seq <= cursor) return; // seen already (a replay or an event sync delivered first)
      if (seq > cursor + 1) {
        // Something in between was missed: sync fetches it and this event in order.
        void this.sync();
        return;
      }
    }
    this.cursors.set(id, seq);
    this.emit(name, payload as RealtimeEvents[E]);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.socket.connected) {
        const pending = this.queue[0]!;
        pending.attempts++;
        const ack = await this.request<{ message: Message; created: boolean }>('send_message', {
          conversation_id: pending.conversation_id,
          content: pending.content,
          client_id: pending.client_id,
          ...(pending.reply_to_id ? { reply_to_id: pending.reply_to_id } : {}),
        });
        if (ack.ok) {
          this.queue.shift();
          this.emit('outbox', [...this.queue]);
          this.emit('sent', { pending, message: ack.data.message });
          continue;
        }
        pending.last_error = ack.error;
        if (PERMANENT.has(ack.error.code)) {
          this.queue.shift();
          this.emit('outbox', [...this.queue]);
          this.emit('send_failed', { pending, error: ack.error });
          continue;
        }
        this.emit('outbox', [...this.queue]);
        if (ack.error.code === 'offline') return; // the next connect flushes
        this.scheduleRetry(ack.error);
        return;
      }
    } finally {
      this.flushing = false;
    }
  }

  private scheduleRetry(error: AckError): void {
    if (this.retryTimer) return;
    const attempts = this.queue[0]?.attempts ?? 1;
    const delay = error.retry_after
      ? error.retry_after * 1000
      : Math.min(30_000, 250 * 2 ** Math.min(attempts, 7));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, delay);
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state);
  }
}
