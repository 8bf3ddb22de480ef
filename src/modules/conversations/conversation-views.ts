// Conversation views for the API, from list rows that already carry their members and last message.
import type { ConversationListRow } from './conversations.repository.js';
import type { ConversationView } from './conversations.schemas.js';

export function toConversationView(r: ConversationListRow): ConversationView {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    description: r.description,
    avatar_url: r.avatar_url,
    created_by: r.created_by,
    last_seq: Number(r.last_seq),
    last_message: r.last_message,
    unread_count: Number(r.unread_count),
    muted_until: r.muted_until ? r.muted_until.toISOString() : null,
    my_role: r.my_role,
    delivered_seq: Number(r.delivered_seq),
    read_seq: Number(r.read_seq),
    members: r.members,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}
