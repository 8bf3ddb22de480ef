// The realtime protocol in one place: client and server event maps, payload schemas and the ack shape.
import { type Static, Type } from 'typebox';
import type { MessageView } from '../events/domain-events.js';
import type { FriendRequestView } from '../modules/friends/friends.schemas.js';
import { SendMessageBody, WatermarkBody } from '../modules/messages/messages.schemas.js';
import type { NotificationView } from '../modules/notifications/notifications.schemas.js';
import { SyncBody } from '../modules/sync/sync.schemas.js';

export const NAMESPACES = ['/messaging', '/calls', '/notifications'] as const;
export type NamespaceName = (typeof NAMESPACES)[number];

export type AckError = {
  code: string;
  message: string;
  retry_after?: number;
  /** As in REST error envelopes: `field` names what failed validation. */
  details?: Record<string, unknown>;
};
export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: AckError };
export type AckFn<T = unknown> = (response: Ack<T>) => void;

const Uuid = Type.String({ format: 'uuid' });

// Socket and /ws payloads are the REST bodies plus the conversation they address: one schema per operation, so
// limits, error codes and field names are the same on every transport.
export const ConversationRef = Type.Object({ conversation_id: Uuid }, { additionalProperties: false });
export type ConversationRef = Static<typeof ConversationRef>;

export const SendMessagePayload = Type.Object(
  { conversation_id: Uuid, ...SendMessageBody.properties },
  { additionalProperties: false },
);
export type SendMessagePayload = Static<typeof SendMessagePayload>;

export const WatermarkPayload = Type.Object(
  { conversation_id: Uuid, ...WatermarkBody.properties },
  { additionalProperties: false },
);
export type WatermarkPayload = Static<typeof WatermarkPayload>;

export const SyncPayload = SyncBody;
export type SyncPayload = Static<typeof SyncPayload>;

/** The same list GET /presence takes as `user_ids`. */
export const PresencePayload = Type.Object(
  { user_ids: Type.Array(Uuid, { minItems: 1, maxItems: 200 }) },
  { additionalProperties: false },
);
export type PresencePayload = Static<typeof PresencePayload>;

export interface PresenceEntry {
  user_id: string;
  online: boolean;
  last_seen_at: string | null;
}

/** Client -> server events; every one is acknowledged with an Ack. */
export interface ClientToServerEvents {
  join_conversation: (payload: ConversationRef, ack: AckFn<{ conversation_id: string }>) => void;
  leave_conversation: (payload: ConversationRef, ack: AckFn<{ conversation_id: string }>) => void;
  send_message: (payload: SendMessagePayload, ack: AckFn<{ message: MessageView; created: boolean }>) => void;
  typing_start: (payload: ConversationRef, ack: AckFn<{ conversation_id: string }>) => void;
  typing_stop: (payload: ConversationRef, ack: AckFn<{ conversation_id: string }>) => void;
  message_delivered: (payload: WatermarkPayload, ack: AckFn<unknown>) => void;
  message_read: (payload: WatermarkPayload, ack: AckFn<unknown>) => void;
  sync: (payload: SyncPayload, ack: AckFn<unknown>) => void;
  presence: (payload: PresencePayload, ack: AckFn<PresenceEntry[]>) => void;
}

/** `message_updated` is the message view plus `event_seq`, the seq of the edit event itself. */
export type MessageUpdatedPayload = MessageView & { event_seq: number };
export interface MessageStatusPayload {
  conversation_id: string;
  user_id: string;
  delivered_seq: number;
  /** null when the member's privacy hides read receipts (their own devices still get the number). */
  read_seq: number | null;
}
export interface PresenceChange {
  user_id: string;
  last_seen_at: string | null;
}
type ConversationEvent<T> = { conversation_id: string; seq: number } & T;

export interface ServerToClientEvents {
  new_message: (payload: MessageView) => void;
  message_updated: (payload: MessageUpdatedPayload) => void;
  message_deleted: (payload: ConversationEvent<{ message_id: string }>) => void;
  reaction_added: (
    payload: ConversationEvent<{ message_id: string; user_id: string; emoji: string }>,
  ) => void;
  reaction_removed: (
    payload: ConversationEvent<{ message_id: string; user_id: string; emoji: string }>,
  ) => void;
  message_pinned: (
    payload: ConversationEvent<{ message_id: string; user_id: string; pinned: boolean }>,
  ) => void;
  poll_updated: (payload: ConversationEvent<{ poll_id: string; message_id: string }>) => void;
  message_status: (payload: MessageStatusPayload) => void;
  user_typing: (payload: { conversation_id: string; user_id: string; typing: boolean }) => void;
  user_online: (payload: PresenceChange) => void;
  user_offline: (payload: PresenceChange) => void;
  user_updated: (payload: { user_id: string }) => void;
  conversation_created: (payload: {
    conversation_id: string;
    member_ids: string[];
    actor_id: string;
  }) => void;
  conversation_updated: (
    payload: ConversationEvent<{ changes: Record<string, unknown>; actor_id: string }>,
  ) => void;
  member_added: (payload: ConversationEvent<{ user_ids: string[]; actor_id: string }>) => void;
  member_removed: (
    payload: ConversationEvent<{ user_id: string; actor_id: string; reason: 'removed' | 'left' }>,
  ) => void;
  member_updated: (
    payload: ConversationEvent<{ user_id: string; role: 'admin' | 'member'; actor_id: string }>,
  ) => void;
  member_muted: (payload: { conversation_id: string; user_id: string; muted_until: string | null }) => void;
  /** A new friend request as each of the two lists it (GET /friends/requests): incoming or outgoing. */
  friend_request: (payload: FriendRequestView) => void;
  /** A request was answered (status accepted or rejected), to both people, each with their own view. */
  friend_request_updated: (payload: FriendRequestView) => void;
  /** A pending request was withdrawn, declined or dropped by a block; `user_id` is the other person. */
  friend_request_cancelled: (payload: { id: string; user_id: string }) => void;
  /** A friendship ended (removed or blocked); `user_id` is the other person. */
  friend_removed: (payload: { user_id: string }) => void;
  /** The session ended (revoked, user deactivated); the socket is disconnected right after. */
  session_ended: (payload: { code: 'session_revoked' | 'user_deactivated' }) => void;
  /** /notifications: an in-app notification (mention, reply, added to a group, missed call). */
  notification: (payload: NotificationView) => void;
  /** This instance is shutting down: reconnect (the client library does so by itself). */
  server_shutdown: (payload: { reconnect: true }) => void;
}

export type ServerEventName = keyof ServerToClientEvents;
export type ServerEventPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];

/** What each socket carries after the handshake. */
export interface SocketData {
  userId: string;
  role: 'admin' | 'user';
  sessionId: string | null;
}

export const rooms = {
  user: (id: string) => `user:${id}`,
  conversation: (id: string) => `conversation:${id}`,
  session: (id: string) => `session:${id}`,
  /** Sockets currently viewing a conversation (join_conversation): typing goes only here. */
  view: (id: string) => `view:${id}`,
};
