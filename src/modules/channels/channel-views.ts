// Channel payloads as the API shows them: channel messages, inboxes, the metadata.channel of chat messages, cursors.
import type { ChannelMessageRow, InboxRow } from './channels.repository.js';
import type { ChannelMessageView, InboxView } from './channels.schemas.js';

export type MessageCursor = { created_at: string; id: string };
export const isMessageCursor = (v: unknown): v is MessageCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as MessageCursor).created_at === 'string' &&
  typeof (v as MessageCursor).id === 'string' &&
  !Number.isNaN(Date.parse((v as MessageCursor).created_at)) &&
  /^[0-9a-f-]{36}$/i.test((v as MessageCursor).id);
export const isIdCursor = (v: unknown): v is { id: string } =>
  typeof v === 'object' && v !== null && /^[0-9a-f-]{36}$/i.test(String((v as { id?: unknown }).id));

export function toChannelMessageView(row: ChannelMessageRow): ChannelMessageView {
  return {
    id: row.id,
    conversation_id: row.conversation_id,
    message_id: row.message_id,
    inbox_id: row.inbox_id,
    direction: row.direction,
    channel: row.channel,
    from: row.from_address,
    to: row.to_address,
    subject: row.subject,
    body: row.body,
    segments: row.segments,
    status: row.status,
    provider: row.provider,
    provider_message_id: row.provider_message_id,
    error: row.error_code || row.error_message ? { code: row.error_code, message: row.error_message } : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toInboxView(row: InboxRow & { member_ids: string[] }): InboxView {
  return {
    id: row.id,
    channel: row.channel,
    address: row.address,
    name: row.name,
    member_ids: row.member_ids,
    created_at: row.created_at.toISOString(),
  };
}

/** What the chat message of a channel message carries in metadata.channel. */
export function channelMetadata(
  row: Pick<
    ChannelMessageRow,
    'id' | 'direction' | 'channel' | 'from_address' | 'to_address' | 'subject' | 'status'
  >,
) {
  return {
    channel: {
      id: row.id,
      direction: row.direction,
      channel: row.channel,
      from: row.from_address,
      to: row.to_address,
      subject: row.subject,
      status: row.status,
    },
  };
}
