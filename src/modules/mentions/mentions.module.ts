// Mentions: at send and edit time, `@username` resolves to member ids in metadata.mentions (what notifications
// key on); `@all` sets metadata.mention_all in groups for admins (or every member with MENTION_ALL=members).
import type { Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { DB } from '../../db/schema.js';
import { parseMentions } from './mentions.js';
import { MentionsRepository } from './mentions.repository.js';

export function registerMentions(ctx: AppContext): void {
  const repo = new MentionsRepository();
  ctx.services.messages.onContentWritten(
    async (trx: Transaction<DB>, written) => {
      const parsed = parseMentions(written.content);
      const message = await (parsed.usernames.length > 0 || parsed.all || written.kind === 'edited'
        ? repo.messageContext(written.message_id, trx)
        : undefined);
      if (!message) return;
      const found = await repo.memberIdsByUsername(message.conversation_id, parsed.usernames, trx);
      const byName = new Map(found.map((u) => [u.username, u.id]));
      const mentions = parsed.usernames
        .map((name) => byName.get(name))
        .filter((id): id is string => id !== undefined && id !== message.sender_id);
      const mentionAll =
        parsed.all &&
        message.conversation_type === 'group' &&
        (ctx.config.mentionAll === 'members' || message.sender_role === 'admin');
      await repo.setMentions(
        written.message_id,
        { ...(mentions.length > 0 ? { mentions } : {}), ...(mentionAll ? { mention_all: true } : {}) },
        trx,
      );
    },
    (content) => {
      const parsed = parseMentions(content);
      return parsed.usernames.length > 0 || parsed.all;
    },
  );
}
