// Finding @mentions in message text: `@username` tokens (usernames are [A-Za-z0-9_.-], 3-32) and `@all`.

export const MENTION_ALL = 'all';
const MAX_MENTIONS = 50;
// Not preceded by a word character or @ (so e-mail addresses are not mentions).
const MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.-]{3,32})/gu;

export interface ParsedMentions {
  /** Lower-cased usernames, at most 50, in order of first appearance. */
  usernames: string[];
  all: boolean;
}

export function parseMentions(content: string | null): ParsedMentions {
  const usernames: string[] = [];
  let all = false;
  if (!content?.includes('@')) return { usernames, all };
  for (const match of content.matchAll(MENTION)) {
    // A sentence may end right after the name: "thanks @bob."
    const name = (match[1] as string).replace(/[.-]+$/, '').toLowerCase();
    if (name === MENTION_ALL) {
      all = true;
    } else if (name.length >= 3 && !usernames.includes(name) && usernames.length < MAX_MENTIONS) {
      usernames.push(name);
    }
  }
  return { usernames, all };
}
