// One message: bubble (sender, quote, text, meta, ticks, reactions) and its actions.
import type { Message } from '@tma/sdk';
import { useState } from 'preact/hooks';
import { store } from '../store.ts';
import { UserAvatar } from './avatar.tsx';
import { Attachments, LinkPreview, PollCard } from './message-extras.tsx';
import { time } from './util.ts';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
const TICK = { sent: '✓', delivered: '✓✓', read: '✓✓' } as const;

/** A group change as a sentence: who did what to whom. */
export function systemText(m: Message): string {
  const meta = m.metadata as { action?: string; name?: string; user_id?: string; user_ids?: string[] };
  const name = (id: string | undefined) => {
    if (id && !store.users.has(id)) void store.fetchUser(id);
    return id === store.me?.id ? 'you' : store.userName(id);
  };
  const actor = m.sender_id === store.me?.id ? 'You' : store.userName(m.sender_id);
  switch (meta.action) {
    case 'group_renamed':
      return `${actor} renamed the group to “${meta.name ?? ''}”`;
    case 'member_added':
      return `${actor} added ${(meta.user_ids ?? []).map(name).join(', ')}`;
    case 'member_removed':
      return `${actor} removed ${name(meta.user_id)}`;
    case 'member_left':
      return `${actor} left`;
    default:
      return m.content ?? '';
  }
}

export function MessageItem({
  m,
  quoted,
  group,
  canPin,
  onReply,
  onEdit,
}: {
  m: Message;
  quoted?: Message;
  group: boolean;
  /** In a DM both people may pin; in a group only admins. */
  canPin: boolean;
  onReply: () => void;
  onEdit: () => void;
}) {
  const s = store;
  const [picking, setPicking] = useState(false);
  const mine = m.sender_id === s.me?.id;
  const deleted = m.deleted_at !== null;
  const tick = mine && !deleted ? s.tick(m) : null;
  const pinned = s.isPinned(m);
  if (m.type === 'system')
    return (
      <li class="message system" data-seq={m.seq} data-id={m.id}>
        <p class="text">{systemText(m)}</p>
      </li>
    );
  const pollId = m.type === 'poll' && typeof m.metadata.poll_id === 'string' ? m.metadata.poll_id : null;
  return (
    <li class={`message ${mine ? 'mine' : ''} ${deleted ? 'deleted' : ''}`} data-seq={m.seq} data-id={m.id}>
      <div class="bubble">
        {group && !mine && (
          <span class="sender">
            {m.sender_id && <UserAvatar id={m.sender_id} size="tiny" decorative />}
            {s.userName(m.sender_id)}
          </span>
        )}
        {m.reply_to_id && (
          <blockquote class="quote">
            {quoted ? (quoted.deleted_at ? 'Message deleted' : (quoted.content ?? '')) : 'Earlier message'}
          </blockquote>
        )}
        {deleted ? (
          <p class="text">
            <em>Message deleted</em>
          </p>
        ) : pollId ? (
          <PollCard pollId={pollId} />
        ) : (
          <>
            {m.attachments.length > 0 && <Attachments files={m.attachments} />}
            {(m.content || m.attachments.length === 0) && <p class="text">{m.content ?? `[${m.type}]`}</p>}
            <LinkPreview metadata={m.metadata} />
          </>
        )}
        <span class="meta">
          {pinned && <span class="pinned">pinned</span>}
          {m.edited_at && !deleted && <span>edited</span>}
          <time dateTime={m.created_at}>{time(m.created_at)}</time>
          {tick && (
            <span class={`tick tick-${tick}`} role="img" aria-label={tick}>
              {TICK[tick]}
            </span>
          )}
        </span>
        {m.reactions.length > 0 && (
          <div class="reactions">
            {m.reactions.map((r) => (
              <button
                type="button"
                key={r.emoji}
                class={r.me ? 'me' : ''}
                aria-pressed={r.me}
                aria-label={`${r.emoji} ${r.count}`}
                onClick={() => void s.react(m, r.emoji)}
              >
                {r.emoji} {r.count}
              </button>
            ))}
          </div>
        )}
      </div>
      {!deleted && (
        <div class="actions">
          <button type="button" aria-expanded={picking} onClick={() => setPicking(!picking)}>
            React
          </button>
          <button type="button" onClick={onReply}>
            Reply
          </button>
          {canPin && (
            <button type="button" onClick={() => void s.pin(m, !pinned)}>
              {pinned ? 'Unpin' : 'Pin'}
            </button>
          )}
          {mine && (
            <>
              {m.type === 'text' && (
                <button type="button" onClick={onEdit}>
                  Edit
                </button>
              )}
              <button type="button" onClick={() => void s.remove(m)}>
                Delete
              </button>
            </>
          )}
          {picking && (
            <div class="picker">
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  type="button"
                  key={emoji}
                  aria-label={`React with ${emoji}`}
                  onClick={() => {
                    setPicking(false);
                    void s.react(m, emoji);
                  }}
                >
                  {emoji}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </li>
  );
}
