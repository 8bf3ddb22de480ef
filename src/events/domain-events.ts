// Every domain event a service publishes after commit, with its payload. Conversation events carry
// conversation_id and seq; payloads are already the wire shapes of DESIGN.md section 7.
import type { CallView, EndReason, Signal } from '../modules/calls/calls.schemas.js';
import type { FileView } from '../modules/files/files.schemas.js';
import type { FriendRequestView } from '../modules/friends/friends.schemas.js';
import type { NotificationView } from '../modules/notifications/notifications.schemas.js';

export interface ReactionSummary {
  emoji: string;
  count: number;
  me: boolean;
}

/** The message view of the REST API and of `new_message` / `message_updated`. */
export interface MessageView {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  client_id: string | null;
  type: 'text' | 'image' | 'file' | 'voice' | 'poll' | 'call' | 'system';
  content: string | null;
  metadata: Record<string, unknown>;
  reply_to_id: string | null;
  forwarded_from_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  reactions: ReactionSummary[];
  /** Files of image/file/voice messages (docs/files.md); empty otherwise. */
  attachments: FileView[];
}

export interface DomainEventMap {
  /** A message was stored (any type, system messages included). */
  'message.created': { message: MessageView };
  /** Edited, or enriched later (link preview); `seq` is the event's seq, `message.seq` the message's. */
  'message.updated': { conversation_id: string; seq: number; message: MessageView };
  'message.deleted': { conversation_id: string; seq: number; message_id: string };
  'reaction.added': {
    conversation_id: string;
    seq: number;
    message_id: string;
    user_id: string;
    emoji: string;
  };
  'reaction.removed': {
    conversation_id: string;
    seq: number;
    message_id: string;
    user_id: string;
    emoji: string;
  };
  'message.pinned': {
    conversation_id: string;
    seq: number;
    message_id: string;
    user_id: string;
    pinned: boolean;
  };
  'poll.updated': { conversation_id: string; seq: number; poll_id: string; message_id: string };
  /**
   * A member's watermarks moved. `read_visible` is false when the member's privacy hides read receipts:
   * then others must be shown read_seq as delivered only.
   */
  'receipt.updated': {
    conversation_id: string;
    user_id: string;
    delivered_seq: number;
    read_seq: number;
    read_visible: boolean;
  };
  /** Name, avatar or other settings of a conversation changed. */
  'conversation.updated': {
    conversation_id: string;
    seq: number;
    changes: Record<string, unknown>;
    actor_id: string;
  };
  /** A conversation was created (DM or group): member_ids are everyone in it. */
  'conversation.created': { conversation_id: string; member_ids: string[]; actor_id: string };
  'member.added': { conversation_id: string; seq: number; user_ids: string[]; actor_id: string };
  'member.removed': {
    conversation_id: string;
    seq: number;
    user_id: string;
    actor_id: string;
    reason: 'removed' | 'left';
  };
  'member.updated': {
    conversation_id: string;
    seq: number;
    user_id: string;
    role: 'admin' | 'member';
    actor_id: string;
  };
  /** Only this user's own devices care (mute is personal). */
  'member.muted': { conversation_id: string; user_id: string; muted_until: string | null };
  'user.updated': { user_id: string };
  /** A friend request was sent, accepted, rejected or withdrawn, or a friendship ended; both users care. */
  'friendship.updated': {
    friendship_id: string;
    requester_id: string;
    receiver_id: string;
    status: 'pending' | 'accepted' | 'rejected' | 'removed';
    actor_id: string;
    /** With `removed`: what ended, a pending request or a friendship. */
    previous_status?: 'pending' | 'accepted';
    /** Except with `removed`: the request as each of the two lists it (GET /friends/requests), by user id. */
    views?: Record<string, FriendRequestView>;
  };
  /** Private to the blocker: the blocked user is never told. */
  'user.blocked': { blocker_id: string; blocked_id: string; blocked: boolean };
  'user.deactivated': { user_id: string };
  /** An in-app notification for one user (realtime: `notification` on /notifications). */
  'notification.created': { user_id: string; notification: NotificationView };
  /**
   * A call changed (docs/calls.md): realtime sends `event` on /calls to every device of `user_ids`, except the
   * device `except_device` (the one that acted); `answered_elsewhere` gets call_answered_elsewhere instead.
   */
  'call.updated': {
    event:
      | 'call_ringing'
      | 'call_accepted'
      | 'call_declined'
      | 'call_participant_joined'
      | 'call_participant_left'
      | 'call_ended';
    call: CallView;
    user_ids: string[];
    actor_id: string | null;
    reason?: EndReason | 'left' | 'disconnected' | 'missed' | 'declined';
    except_device?: string;
    /** The actor's other devices: told call_answered_elsewhere (accept, join). */
    answered_elsewhere?: boolean;
  };
  /** A WebRTC signal to relay to one participant (its answering device when known). */
  'call.signal': {
    call_id: string;
    from_user_id: string;
    to_user_id: string;
    to_device: string | null;
    signal: Signal;
  };
  /** A call ended (any reason), after its `call` message was stored: for notifications and history. */
  'call.ended': {
    call: CallView;
    reason: EndReason;
    /** Invited members who never answered (a missed call for each of them). */
    missed_user_ids: string[];
    message_id: string;
    seq: number;
  };
  /** Members who were rung and never answered (ring timeout, or the caller gave up): one per ended ringing. */
  'call.missed': {
    call_id: string;
    conversation_id: string;
    caller_id: string | null;
    media: 'audio' | 'video';
    user_ids: string[];
    started_at: string;
    /** The `call` message, when the call ended with this (null while a group call goes on without them). */
    message_id: string | null;
    seq: number | null;
  };
  /** Every socket authenticated with this session must be disconnected at once. */
  'session.revoked': { session_id: string; user_id: string };
}
