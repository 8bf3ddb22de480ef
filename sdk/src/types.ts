// The shapes the SDK hands out: REST schemas from the generated OpenAPI types, realtime events as the server
// sends them (docs/realtime.md, "Server -> client events").
import type { components } from './openapi.js';

type Schemas = components['schemas'];
export type Message = Schemas['Message'];
export type Conversation = Schemas['Conversation'];
export type User = Schemas['User'];
export type UserProfile = Schemas['UserProfile'];
export type CurrentUser = Schemas['CurrentUser'];
export type TokenPair = Schemas['TokenPair'];
export type Presence = Schemas['Presence'];
export type Receipt = Schemas['Receipt'];
export type ReactionSummary = Schemas['ReactionSummary'];
export type ConversationEvent = Schemas['ConversationEvent'];
export type SyncResult = Schemas['SyncResult'];
export type MessageSearchHit = Schemas['MessageSearchHit'];
export type Friend = Schemas['Friend'];
export type FriendRequest = Schemas['FriendRequest'];

export interface AckError {
  code: string;
  message: string;
  retry_after?: number;
  details?: Record<string, unknown>;
}
export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: AckError };

type InConversation<T> = { conversation_id: string; seq: number } & T;
export type ReactionEvent = InConversation<{ message_id: string; user_id: string; emoji: string }>;

/** Events that carry a conversation `seq`: the SDK orders them, drops duplicates and fills gaps with `sync`. */
export interface SequencedEvents {
  new_message: Message;
  /** The current message view; `event_seq` is the edit's own seq (`seq` stays the message's). */
  message_updated: Message & { event_seq: number };
  message_deleted: InConversation<{ message_id: string }>;
  reaction_added: ReactionEvent;
  reaction_removed: ReactionEvent;
  message_pinned: InConversation<{ message_id: string; user_id: string; pinned: boolean }>;
  poll_updated: InConversation<{ poll_id: string; message_id: string }>;
  conversation_updated: InConversation<{ changes: Record<string, unknown>; actor_id: string }>;
  member_added: InConversation<{ user_ids: string[]; actor_id: string }>;
  member_removed: InConversation<{ user_id: string; actor_id: string; reason: 'removed' | 'left' }>;
  member_updated: InConversation<{ user_id: string; role: 'admin' | 'member'; actor_id: string }>;
}

/** Events without a seq: passed through as they come. */
export interface UnsequencedEvents {
  message_status: {
    conversation_id: string;
    user_id: string;
    delivered_seq: number;
    read_seq: number | null;
  };
  user_typing: { conversation_id: string; user_id: string; typing: boolean };
  user_online: { user_id: string; last_seen_at: string | null };
  user_offline: { user_id: string; last_seen_at: string | null };
  user_updated: { user_id: string };
  conversation_created: { conversation_id: string; member_ids: string[]; actor_id: string };
  member_muted: { conversation_id: string; user_id: string; muted_until: string | null };
  /** A new pending request, as GET /friends/requests lists it for this user (incoming or outgoing). */
  friend_request: FriendRequest;
  /** A request was answered: the same view with status accepted or rejected. */
  friend_request_updated: FriendRequest;
  /** A pending request was withdrawn, declined or dropped by a block; `user_id` is the other person. */
  friend_request_cancelled: { id: string; user_id: string };
  /** A friendship ended (removed or blocked); `user_id` is the other person. */
  friend_removed: { user_id: string };
  session_ended: { code: 'session_revoked' | 'user_deactivated' };
  server_shutdown: { reconnect: true };
}

export type ServerEvents = SequencedEvents & UnsequencedEvents;
export type ServerEventName = keyof ServerEvents;
export type SequencedEventName = keyof SequencedEvents;

export const SEQUENCED_EVENTS: readonly SequencedEventName[] = [
  'new_message',
  'message_updated',
  'message_deleted',
  'reaction_added',
  'reaction_removed',
  'message_pinned',
  'poll_updated',
  'conversation_updated',
  'member_added',
  'member_removed',
  'member_updated',
];
export const UNSEQUENCED_EVENTS: readonly (keyof UnsequencedEvents)[] = [
  'message_status',
  'user_typing',
  'user_online',
  'user_offline',
  'user_updated',
  'conversation_created',
  'member_muted',
  'friend_request',
  'friend_request_updated',
  'friend_request_cancelled',
  'friend_removed',
  'session_ended',
  'server_shutdown',
];

export type ConnectionState = 'connecting' | 'connected' | 'offline' | 'reconnecting' | 'closed';

/** A send waiting in the outbox; it keeps its client_id across retries, so the server stores it once. */
export interface PendingSend {
  client_id: string;
  conversation_id: string;
  content: string;
  reply_to_id?: string;
  queued_at: number;
  attempts: number;
  last_error?: AckError;
}

/** What the realtime client emits besides the server events. */
export interface ClientEvents {
  state: ConnectionState;
  /** A send was stored (first time or as a retry of the same client_id). */
  sent: { pending: PendingSend; message: Message };
  /** A send the server refused for good (not a member, blocked, invalid): it left the outbox. */
  send_failed: { pending: PendingSend; error: AckError };
  outbox: PendingSend[];
  /** The events after this conversation's cursor are gone (retention): reload its history. */
  reset: { conversation_id: string; last_seq: number };
  /** Sync found a conversation the client had no cursor for (created while away). */
  discovered: { conversation_id: string; last_seq: number };
  /** The caller is no longer a member. */
  removed: { conversation_id: string };
  /** A catch-up finished: every tracked conversation is at its last seq. */
  synced: { conversations: number; events: number };
  /** The handshake was refused (token_expired, session_revoked, ...). */
  auth_error: { code: string };
}
