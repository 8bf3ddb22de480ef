// The conversation list with unread counts, last messages, presence, and search (names and message contents).
import type { Conversation, MessageSearchHit } from '@tma/sdk';
import { useEffect, useState } from 'preact/hooks';
import type { Store } from '../store.ts';
import { ConversationAvatar } from './avatar.tsx';
import { ChannelBadge } from './channel-badge.tsx';
import { systemText } from './message-item.tsx';
import { navigate, useStore } from './util.ts';

const KIND_TEXT: Record<string, string> = { image: 'Photo', voice: 'Voice note', file: 'File', poll: 'Poll' };

function preview(s: Store, c: Conversation): string {
  const m = c.last_message;
  if (!m) return 'No messages yet';
  const who = m.sender_id === s.me?.id ? 'You: ' : c.type === 'group' ? `${s.userName(m.sender_id)}: ` : '';
  if (m.type === 'system') return systemText(m);
  if (m.deleted_at) return `${who}Message deleted`;
  const kind = KIND_TEXT[m.type];
  if (kind && m.type !== 'poll' && !m.content)
    return `${who}${kind}${m.attachments[0] ? `: ${m.attachments[0].name}` : ''}`;
  return who + (kind && m.type === 'poll' ? `${kind}: ${m.content ?? ''}` : (m.content ?? `[${m.type}]`));
}

export function ConversationList({ onNew }: { onNew: () => void }) {
  const s = useStore();
  const [query, setQuery] = useState('');
  const q = query.trim().toLowerCase();
  const list = s.sortedConversations().filter((c) => !q || s.title(c).toLowerCase().includes(q));
  const [hits, setHits] = useState<MessageSearchHit[]>([]);
  useEffect(() => {
    if (q.length < 2) return setHits([]);
    const timer = setTimeout(() => void s.searchMessages(q).then(setHits), 250);
    return () => clearTimeout(timer);
  }, [q, s]);
  return (
    <>
      <div class="tools">
        <input
          type="search"
          aria-label="Search conversations"
          placeholder="Search"
          value={query}
          onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="button" class="primary" onClick={onNew}>
          New chat
        </button>
      </div>
      <ul class={`conversations ${q ? 'searching' : ''}`}>
        {list.map((c) => {
          const peer = s.peerOf(c);
          const online = peer ? s.online.get(peer) === true : false;
          const title = s.title(c);
          return (
            <li key={c.id}>
              <button
                type="button"
                class={`conversation ${c.id === s.activeId ? 'active' : ''}`}
                aria-current={c.id === s.activeId ? 'page' : undefined}
                onClick={() => navigate(c.id)}
              >
                <ConversationAvatar c={c} decorative>
                  {peer && <span class={`dot ${online ? 'on' : ''}`} />}
                </ConversationAvatar>
                <span class="summary">
                  <span class="title">
                    {title}
                    {peer && <span class="visually-hidden">{online ? ' (online)' : ' (offline)'}</span>}
                    <ChannelBadge id={c.id} />
                  </span>
                  <span class="preview">{preview(s, c)}</span>
                </span>
                {c.unread_count > 0 && (
                  <span class="badge">
                    {c.unread_count}
                    <span class="visually-hidden"> unread</span>
                  </span>
                )}
              </button>
            </li>
          );
        })}
        {list.length === 0 && (
          <li class="muted pad">{q ? 'No conversation matches' : 'No conversations yet'}</li>
        )}
      </ul>
      {hits.length > 0 && (
        <section class="hits" aria-label="Messages found">
          <h3 class="small muted pad">Messages</h3>
          <ul class="conversations">
            {hits.map((hit) => {
              const c = s.conversations.get(hit.message.conversation_id);
              return (
                <li key={hit.message.id}>
                  <button
                    type="button"
                    class="conversation"
                    onClick={() => {
                      s.focusMessage(hit.message.conversation_id, hit.message.id);
                      navigate(hit.message.conversation_id);
                    }}
                  >
                    <span class="summary">
                      <span class="title">
                        {c ? s.title(c) : 'Conversation'}
                        {c?.type === 'group' ? ` · ${s.userName(hit.message.sender_id)}` : ''}
                      </span>
                      <span class="preview">
                        <Highlight html={hit.highlight} />
                      </span>
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      )}
    </>
  );
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
};

/** The search snippet (escaped text with <mark> around matches) as elements, never as HTML. */
function Highlight({ html }: { html: string }) {
  const text = (t: string) => t.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e);
  return (
    <>
      {html
        .split(/(<mark>.*?<\/mark>)/)
        .map((part, i) =>
          part.startsWith('<mark>') ? <mark key={i}>{text(part.slice(6, -7))}</mark> : text(part),
        )}
    </>
  );
}
