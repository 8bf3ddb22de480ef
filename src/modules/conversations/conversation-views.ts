// Conversation views for the API: list rows + their members + last messages, in a constant number of queries.
import type { MessageView } from '../../events/domain-events.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import type { ConversationListRow } from './conversations.repository.js';
import type { ConversationView } from './conversations.schemas.js';
import type { MembersRepository } from './members.repository.js';

/** Views for list rows: one query for members, one for last messages, whatever the number of rows. */
export async function buildConversationViews(
  repos: { members: MembersRepository; messages: MessagesRepository },
  viewerId: string,
  rows: ConversationListRow[],
): Promise<ConversationView[]> {
  const ids = rows.map((r) => r.id);
  const lastIds = rows.flatMap((r) => (r.last_message_id ? [r.last_message_id] : []));
  const [members, lastMessages] = await Promise.all([
    repos.members.currentMembersOf(ids),
    repos.messages.viewsByIds(lastIds, viewerId),
  ]);
  const byConversation = new Map<string, ConversationView['members']>();
  for (const m of members) {
    const list = byConversation.get(m.conversation_id) ?? [];
    list.push({ user_id: m.user_id, role: m.role, joined_at: m.joined_at.toISOString() });
    byConversation.set(m.conversation_id, list);
  }
  const messagesById = new Map<string, MessageView>(lastMessages.map((m) => [m.id, m]));
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    name: r.name,
    description: r.description,
    avatar_url: r.avatar_url,
    created_by: r.created_by,
    last_seq: Number(r.last_seq),
    last_message: r.last_message_id ? (messagesById.get(r.last_message_id) ?? null) : null,
    unread_count: Number(r.unread_count),
    muted_until: r.muted_until ? r.muted_until.toISOString() : null,
    my_role: r.my_role,
    delivered_seq: Number(r.delivered_seq),
    read_seq: Number(r.read_seq),
    members: byConversation.get(r.id) ?? [],
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  }));
}
