// One conversation: header (presence or typing, pins, group info), the windowed history, uploads and pending
// sends, the composer.
import type { Message } from '@tma/sdk';
import { useRef, useState } from 'preact/hooks';
import { ConversationAvatar } from './avatar.tsx';
import { BackButton } from './back-button.tsx';
import { CallButtons } from './call-ui.tsx';
import { ChannelBadge } from './channel-badge.tsx';
import { Composer } from './composer.tsx';
import { GroupInfo } from './group-info.tsx';
import { type LogHandle, MessageLog } from './message-log.tsx';
import { PinsPanel } from './pins-panel.tsx';
import { PollDialog } from './poll-dialog.tsx';
import { presenceText, useStore } from './util.ts';

export function ChatView({ id }: { id: string }) {
  const s = useStore();
  const c = s.conversations.get(id);
  const h = s.history(id);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [panel, setPanel] = useState<'pins' | 'info' | 'poll' | null>(null);
  const logHandle = useRef<LogHandle | null>(null);

  if (!c) return <p class="center muted">Loading conversation…</p>;
  const peer = s.peerOf(c);
  const typing = s.typingNames(id);
  const group = c.type === 'group';
  const canPin = !group || c.my_role === 'admin';
  const pins = s.pins.get(id) ?? [];
  const channel = c.type === 'external' ? s.channels.get(id) : undefined;
  return (
    <section class="chat" aria-label={`Chat with ${s.title(c)}`}>
      <header class="bar">
        <BackButton />
        <ConversationAvatar c={c} decorative />
        <div class="grow">
          <h2>
            {s.title(c)}
            <ChannelBadge id={id} />
          </h2>
          <p class="muted small" aria-live="polite">
            {typing.length > 0
              ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
              : peer
                ? presenceText(s.online.get(peer) === true, s.lastSeen.get(peer))
                : channel
                  ? `Outside contact, through ${channel.inbox}`
                  : `${c.members.length} members`}
          </p>
        </div>
        {c.type !== 'external' && <CallButtons id={id} group={group} />}
        <button
          type="button"
          aria-expanded={panel === 'pins'}
          onClick={() => setPanel(panel === 'pins' ? null : 'pins')}
        >
          Pinned{pins.length > 0 ? ` (${pins.length})` : ''}
        </button>
        {group && (
          <button type="button" onClick={() => setPanel('info')}>
            Group info
          </button>
        )}
      </header>
      {panel === 'pins' && (
        <PinsPanel
          id={id}
          canPin={canPin}
          onJump={(messageId) => logHandle.current?.reveal(messageId) ?? false}
          onClose={() => setPanel(null)}
        />
      )}
      <MessageLog
        id={id}
        h={h}
        group={group}
        canPin={canPin}
        handle={logHandle}
        onReply={(m) => {
          setEditing(null);
          setReplyTo(m);
        }}
        onEdit={(m) => {
          setReplyTo(null);
          setEditing(m);
        }}
      />
      <Composer
        id={id}
        replyTo={replyTo}
        editing={editing}
        onPoll={() => setPanel('poll')}
        onEditLast={() => {
          const last = [...h.items]
            .reverse()
            .find((m) => m.sender_id === s.me?.id && !m.deleted_at && m.type === 'text');
          if (last) {
            setReplyTo(null);
            setEditing(last);
          }
        }}
        onDone={() => {
          setReplyTo(null);
          setEditing(null);
        }}
      />
      {panel === 'info' && <GroupInfo conversation={c} onClose={() => setPanel(null)} />}
      {panel === 'poll' && <PollDialog id={id} onClose={() => setPanel(null)} />}
    </section>
  );
}
