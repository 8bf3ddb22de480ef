// The realtime protocol in one place: client and server event maps, payload schemas and the ack shape.
import { type Static, Type } from 'typebox';
import type { MessageView } from '../events/domain-events.js';

export const NAMESPACES = ['/messaging', '/calls', '/notifications'] as const;
export type NamespaceName = (typeof NAMESPACES)[number];

export type AckError = { code: string; message: string; retry_after?: number };
export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: AckError };
export type AckFn<T = unknown> = (response: Ack<T>) => void;

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const Uuid = Type.String({ format: 'uuid', maxLength: 36 });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const ConversationRef = Type.Object({ conversation_id: Uuid }, { additionalProperties: false });
export type ConversationRef = Static<typeof ConversationRef>;

export const SendMessagePayload = Type.Object(
  {
    conversation_id: Uuid,
    content: Type.String({ maxLength: 10_000 }),
    type: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')]),
    ),
    client_id: Type.Optional(Uuid),
    reply_to_id: Type.Optional(Type.Union([Uuid, Type.Null()])),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 32 }),
    ),
  },
  { additionalProperties: false },
);
export type SendMessagePayload = Static<typeof SendMessagePayload>;

export const WatermarkPayload = Type.Object(
  { conversation_id: Uuid, seq: Seq },
  { additionalProperties: false },
);
export type WatermarkPayload = Static<typeof WatermarkPayload>;

export const SyncPayload = Type.Object(
  {
    cursors: Type.Record(Type.String({ pattern: UUID_PATTERN }), Seq, {
      maxProperties: 100,
      additionalProperties: false,
    }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type SyncPayload = Static<typeof SyncPayload>;

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
  /** The session ended (revoked, user deactivated); the socket is disconnected right after. */
  session_ended: (payload: { code: 'session_revoked' | 'user_deactivated' }) => void;
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
