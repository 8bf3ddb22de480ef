// Every domain event a service publishes after commit, with its payload. Conversation events carry
// conversation_id and seq; payloads are already the wire shapes of DESIGN.md section 7.
import type { FileView } from '../modules/files/files.schemas.js';
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
  };
  /** Private to the blocker: the blocked user is never told. */
  'user.blocked': { blocker_id: string; blocked_id: string; blocked: boolean };
  'user.deactivated': { user_id: string };
  /** An in-app notification for one user (realtime: `notification` on /notifications). */
  'notification.created': { user_id: string; notification: NotificationView };
  /** Every socket authenticated with this session must be disconnected at once. */
  'session.revoked': { session_id: string; user_id: string };
}
