// Kysely table types: one place that mirrors the migrations (bigint columns are parsed to numbers).
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, T | string | undefined, T | string>;
type JsonObject = Record<string, unknown>;

export interface UsersTable {
  id: string;
  tms_user_id: string | null;
  username: string;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
  position: string | null;
  role: Generated<'admin' | 'user'>;
  password_hash: string | null;
  settings: Json<JsonObject>;
  last_seen_at: NullableTimestamp;
  last_synced_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deactivated_at: NullableTimestamp;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  refresh_hash: string;
  family_id: string;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  replaced_by: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
}

export interface FriendshipsTable {
  id: string;
  requester_id: string;
  receiver_id: string;
  status: Generated<'pending' | 'accepted' | 'rejected'>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface UserBlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: Generated<Date>;
}

export interface ConversationsTable {
  id: string;
  /** external: a customer thread of a channel inbox (docs/channels.md). */
  type: 'dm' | 'group' | 'external';
  name: string | null;
  description: string | null;
  avatar_url: string | null;
  dm_key: string | null;
  created_by: string | null;
  last_seq: Generated<number>;
  last_message_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ConversationMembersTable {
  conversation_id: string;
  user_id: string;
  role: Generated<'admin' | 'member'>;
  joined_at: Generated<Date>;
  joined_seq: Generated<number>;
  delivered_seq: Generated<number>;
  read_seq: Generated<number>;
  delivered_at: NullableTimestamp;
  read_at: NullableTimestamp;
  muted_until: NullableTimestamp;
  left_at: NullableTimestamp;
}

export type MessageType = 'text' | 'image' | 'file' | 'voice' | 'poll' | 'call' | 'system';

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  client_id: string | null;
  type: MessageType;
  content: string | null;
  metadata: Json<JsonObject>;
  reply_to_id: string | null;
  forwarded_from_id: string | null;
  created_at: Generated<Date>;
  edited_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
  search: ColumnType<string, never, never>;
}

export interface ConversationEventsTable {
  conversation_id: string;
  seq: number;
  type: string;
  message_id: string | null;
  actor_id: string | null;
  payload: Json<JsonObject>;
  created_at: Generated<Date>;
}

export interface MessageReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  created_at: Generated<Date>;
}

export interface MessagePinsTable {
  conversation_id: string;
  message_id: string;
  pinned_by: string | null;
  pinned_at: Generated<Date>;
}

export interface PollsTable {
  id: string;
  message_id: string;
  conversation_id: string;
  created_by: string | null;
  question: string;
  multiple_choice: Generated<boolean>;
  anonymous: Generated<boolean>;
  expires_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface PollOptionsTable {
  id: string;
  poll_id: string;
  text: string;
  position: number;
}

export interface PollVotesTable {
  poll_id: string;
  option_id: string;
  user_id: string;
  created_at: Generated<Date>;
}

export interface CallsTable {
  id: string;
  conversation_id: string;
  initiator_id: string | null;
  message_id: string | null;
  media: Generated<'audio' | 'video'>;
  status: Generated<'ringing' | 'active' | 'ended' | 'missed' | 'declined'>;
  started_at: Generated<Date>;
  answered_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  end_reason: string | null;
}

export interface CallParticipantsTable {
  call_id: string;
  user_id: string;
  status: Generated<'invited' | 'joined' | 'left' | 'declined' | 'missed'>;
  joined_at: NullableTimestamp;
  left_at: NullableTimestamp;
  invited_at: Generated<Date>;
  /** Last time a /calls socket of this user was known connected (liveness; docs/calls.md). */
  last_seen_at: NullableTimestamp;
  /** The socket that answered: signals to this participant go to it. */
  device_id: string | null;
}

export interface FilesTable {
  id: string;
  uploader_id: string | null;
  conversation_id: string | null;
  storage_key: string;
  filename: string;
  mime_type: string;
  size_bytes: number;
  sha256: string | null;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  thumbnail_key: string | null;
  status: Generated<'pending' | 'ready' | 'failed'>;
  created_at: Generated<Date>;
  kind: Generated<'image' | 'file' | 'voice'>;
  /** Voice notes: 32-128 amplitudes 0-255. */
  waveform: Json<number[]> | null;
  ready_at: NullableTimestamp;
  /** Set when the file's last message was deleted: storage and row go after this time. */
  delete_after: NullableTimestamp;
}

export interface MessageAttachmentsTable {
  message_id: string;
  file_id: string;
  position: number;
}

export interface LinkPreviewsTable {
  url: string;
  status: Generated<'ok' | 'failed'>;
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
  error: string | null;
  fetched_at: Generated<Date>;
}

export interface EncryptionKeysTable {
  id: string;
  user_id: string;
  device_id: string;
  key_type: string;
  public_key: string;
  created_at: Generated<Date>;
  revoked_at: NullableTimestamp;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  platform: 'web' | 'ios' | 'android';
  push_token: string;
  push_keys: Json<JsonObject> | null;
  created_at: Generated<Date>;
  last_seen_at: NullableTimestamp;
  name: string | null;
}

export type NotificationKind = 'message' | 'mention' | 'reply' | 'added' | 'missed_call';

export interface NotificationsTable {
  id: string;
  user_id: string;
  kind: NotificationKind;
  conversation_id: string | null;
  message_id: string | null;
  actor_id: string | null;
  in_app: boolean;
  payload: Json<JsonObject>;
  created_at: Generated<Date>;
  read_at: NullableTimestamp;
}

export interface NotificationDeliveriesTable {
  notification_id: string;
  device_id: string;
  status: Generated<'pending' | 'sending' | 'retry' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  coalesced: Generated<number>;
  last_error: string | null;
  updated_at: Generated<Date>;
}

export interface PushWindowsTable {
  user_id: string;
  conversation_id: string;
  window_until: Timestamp;
  pending_count: Generated<number>;
  pending_notification_id: string | null;
}

export interface NotifiedMessagesTable {
  message_id: string;
  processed_at: Generated<Date>;
}

export interface NotificationUserStateTable {
  user_id: string;
  last_digest_at: NullableTimestamp;
}

export interface WebhookReceiptsTable {
  id: string;
  source: string;
  received_at: Generated<Date>;
}

export type ChannelKind = 'sms' | 'mms' | 'email';
export type InboxChannel = 'sms' | 'email';
export type ChannelStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'failed'
  | 'undelivered'
  | 'received';

export interface ChannelInboxesTable {
  id: string;
  channel: InboxChannel;
  address: string;
  name: string;
  created_by: string | null;
  created_at: Generated<Date>;
}

export interface ChannelInboxMembersTable {
  inbox_id: string;
  user_id: string;
  added_at: Generated<Date>;
}

export interface ExternalConversationsTable {
  conversation_id: string;
  inbox_id: string;
  channel: InboxChannel;
  participant_address: string;
  created_at: Generated<Date>;
}

export interface ChannelMessagesTable {
  id: string;
  conversation_id: string;
  message_id: string | null;
  inbox_id: string;
  direction: 'outbound' | 'inbound';
  channel: ChannelKind;
  from_address: string;
  to_address: string;
  subject: string | null;
  body: Generated<string>;
  segments: Generated<number>;
  status: ChannelStatus;
  provider: string | null;
  provider_message_id: string | null;
  attempts: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  created_by: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ChannelMessageEventsTable {
  id: string;
  channel_message_id: string;
  status: string;
  provider: string | null;
  detail: Json<JsonObject>;
  created_at: Generated<Date>;
}

export interface WebhookLogsTable {
  id: string;
  source: string;
  provider: string | null;
  headers: Json<JsonObject>;
  body_sha256: string;
  body_bytes: number;
  outcome: string;
  status_code: number;
  detail: string | null;
  received_at: Generated<Date>;
}

export interface ChannelOptOutsTable {
  inbox_id: string;
  address: string;
  created_at: Generated<Date>;
}

export interface RevokedSessionsTable {
  session_id: string;
  revoked_at: Generated<Date>;
  expires_at: Date;
}

export interface AuditLogTable {
  id: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Json<JsonObject>;
  ip: string | null;
  created_at: Generated<Date>;
}

export interface InvitesTable {
  code_hash: string;
  created_by: string | null;
  max_uses: Generated<number>;
  uses: Generated<number>;
  expires_at: Timestamp;
  created_at: Generated<Date>;
  revoked_at: NullableTimestamp;
}

export interface ServerSettingsTable {
  key: string;
  value: Json<JsonObject>;
  updated_at: Generated<Date>;
  updated_by: string | null;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  friendships: FriendshipsTable;
  user_blocks: UserBlocksTable;
  conversations: ConversationsTable;
  conversation_members: ConversationMembersTable;
  messages: MessagesTable;
  conversation_events: ConversationEventsTable;
  message_reactions: MessageReactionsTable;
  message_pins: MessagePinsTable;
  polls: PollsTable;
  poll_options: PollOptionsTable;
  poll_votes: PollVotesTable;
  calls: CallsTable;
  call_participants: CallParticipantsTable;
  files: FilesTable;
  message_attachments: MessageAttachmentsTable;
  link_previews: LinkPreviewsTable;
  encryption_keys: EncryptionKeysTable;
  devices: DevicesTable;
  webhook_receipts: WebhookReceiptsTable;
  revoked_sessions: RevokedSessionsTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  push_windows: PushWindowsTable;
  notified_messages: NotifiedMessagesTable;
  notification_user_state: NotificationUserStateTable;
  audit_log: AuditLogTable;
  invites: InvitesTable;
  server_settings: ServerSettingsTable;
  channel_inboxes: ChannelInboxesTable;
  channel_inbox_members: ChannelInboxMembersTable;
  external_conversations: ExternalConversationsTable;
  channel_messages: ChannelMessagesTable;
  channel_message_events: ChannelMessageEventsTable;
  webhook_logs: WebhookLogsTable;
  channel_opt_outs: ChannelOptOutsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type MemberRow = Selectable<ConversationMembersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type ConversationEventRow = Selectable<ConversationEventsTable>;
