// The pinned messages of a conversation, most recently pinned first: jump to one, or unpin it.
import { useState } from 'preact/hooks';
import { store } from '../store.ts';
import { time } from './util.ts';

export function PinsPanel({
  id,
  canPin,
  onJump,
  onClose,
}: {
  id: string;
  canPin: boolean;
  /** Shows the message in the history; false when it is not loaded yet. */
  onJump: (messageId: string) => boolean;
  onClose: () => void;
}) {
  const pins = store.pins.get(id) ?? [];
  const [note, setNote] = useState<string | null>(null);
  const jump = (messageId: string) =>
    setNote(onJump(messageId) ? null : 'That message is further back: scroll up to load it.');
  return (
    <section class="pins" aria-label="Pinned messages">
      <div class="row between">
        <h3 class="small">Pinned messages</h3>
        <button type="button" class="link" onClick={onClose}>
          Close<span class="visually-hidden"> pinned messages</span>
        </button>
      </div>
      {note && <p class="muted small">{note}</p>}
      {pins.length === 0 ? (
        <p class="muted small">Nothing pinned yet.</p>
      ) : (
        <ul class="people-list">
          {pins.map((p) => (
            <li class="person" key={p.message.id}>
              <button type="button" class="summary plain" onClick={() => jump(p.message.id)}>
                <span class="title">{p.message.content ?? `[${p.message.type}]`}</span>
                <span class="preview">
                  {store.userName(p.message.sender_id)} · {time(p.message.created_at)} · pinned by{' '}
                  {store.userName(p.pinned_by)}
                </span>
              </button>
              {canPin && (
                <button type="button" onClick={() => void store.pin(p.message, false)}>
                  Unpin<span class="visually-hidden"> {p.message.content ?? ''}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
