// The message history, windowed: only about WINDOW messages around what is on screen are in the DOM. Scrolling
// near an edge moves the window (and pages older history in from the server at the top); the message at the top
// of the view keeps its place on screen whenever the window or the history changes, so nothing jumps.
import type { Message } from '@tma/sdk';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { History } from '../store.ts';
import { store } from '../store.ts';
import { MessageItem } from './message-item.tsx';

const WINDOW = 80;
const STEP = 40;
/** Pixels from an edge at which the window moves. */
const EDGE = 300;

/** The rendered slice, by message id (ids survive prepends and appends; indices do not). */
interface Slice {
  top: string | null;
  /** null: down to the newest message, following new ones. */
  bottom: string | null;
}

function bounds(items: Message[], slice: Slice): [number, number] {
  const b = slice.bottom ? items.findIndex((m) => m.id === slice.bottom) : -1;
  const end = b >= 0 ? b + 1 : items.length;
  const t = slice.top ? items.findIndex((m) => m.id === slice.top) : -1;
  const start = t >= 0 && t < end ? t : Math.max(0, end - WINDOW);
  return [start, end];
}

export interface LogHandle {
  /** Brings a loaded message into the window and scrolls to it; false when it is not loaded. */
  reveal(messageId: string): boolean;
}

export function MessageLog({
  id,
  h,
  group,
  canPin,
  handle,
  onReply,
  onEdit,
}: {
  id: string;
  h: History;
  group: boolean;
  canPin: boolean;
  handle: { current: LogHandle | null };
  onReply: (m: Message) => void;
  onEdit: (m: Message) => void;
}) {
  const s = store;
  const log = useRef<HTMLDivElement>(null);
  const [slice, setSlice] = useState<Slice>({ top: null, bottom: null });
  const sliceRef = useRef(slice);
  sliceRef.current = slice;
  const atBottom = useRef(true);
  const anchor = useRef<{ id: string; offset: number } | null>(null);
  const focus = useRef<string | null>(null);
  const [start, end] = bounds(h.items, slice);
  const visible = h.items.slice(start, end);
  const following = slice.bottom === null;
  // A send stored but still in the outbox for a moment shows once: as the stored message.
  const stored = new Set(h.items.slice(-50).map((m) => m.client_id));
  const pending = following
    ? s.outbox.filter((p) => p.conversation_id === id && !stored.has(p.client_id))
    : [];
  const uploads = following ? s.uploads.filter((u) => u.conversation_id === id) : [];

  /** The first message at least partly on screen, and how far its top is from the top of the view. */
  const capture = () => {
    const el = log.current;
    if (!el) return;
    for (const li of el.querySelectorAll<HTMLElement>('li.message[data-id]')) {
      if (li.offsetTop + li.offsetHeight > el.scrollTop) {
        anchor.current = { id: li.dataset.id!, offset: li.offsetTop - el.scrollTop };
        return;
      }
    }
    anchor.current = null;
  };

  // After every render: follow the newest when at the bottom, else keep the anchor message where it was.
  useLayoutEffect(() => {
    const el = log.current;
    if (!el) return;
    if (focus.current) {
      const target = el.querySelector<HTMLElement>(`li.message[data-id="${focus.current}"]`);
      focus.current = null;
      if (target) {
        el.scrollTop = target.offsetTop - el.clientHeight / 3;
        target.classList.add('flash');
        setTimeout(() => target.classList.remove('flash'), 1_500);
        atBottom.current = false;
        capture();
        return;
      }
    }
    if (atBottom.current && following) el.scrollTop = el.scrollHeight;
    else if (anchor.current) {
      const li = el.querySelector<HTMLElement>(`li.message[data-id="${anchor.current.id}"]`);
      if (li) el.scrollTop = li.offsetTop - anchor.current.offset;
    }
    // Following at the bottom, the window only grows with new messages: trim it back.
    if (following && atBottom.current && slice.top && end - start > WINDOW + STEP)
      setSlice({ top: null, bottom: null });
  });

  /** Moves the window up by STEP (or asks the server for an older page when the window starts at the oldest). */
  const up = (load = true) => {
    const items = s.history(id).items;
    const [from] = bounds(items, sliceRef.current);
    if (from === 0) {
      // Once the page is in, move the window onto it (without asking for yet another page).
      if (load && h.hasMore && !h.loading) void s.loadOlder(id).then(() => up(false));
      return;
    }
    capture();
    const top = Math.max(0, from - STEP);
    const bottom = Math.min(items.length, top + WINDOW + STEP);
    setSlice({ top: items[top]!.id, bottom: bottom >= items.length ? null : items[bottom - 1]!.id });
  };
  const down = () => {
    const items = s.history(id).items;
    const [, to] = bounds(items, sliceRef.current);
    if (to >= items.length) return;
    capture();
    const bottom = Math.min(items.length, to + STEP);
    const top = Math.max(0, bottom - WINDOW - STEP);
    setSlice({ top: items[top]!.id, bottom: bottom >= items.length ? null : items[bottom - 1]!.id });
  };

  handle.current = {
    reveal(messageId) {
      const items = s.history(id).items;
      const at = items.findIndex((m) => m.id === messageId);
      if (at < 0) return false;
      const top = Math.max(0, at - STEP);
      const bottom = Math.min(items.length, top + WINDOW);
      focus.current = messageId;
      setSlice({ top: items[top]!.id, bottom: bottom >= items.length ? null : items[bottom - 1]!.id });
      return true;
    },
  };

  // A message asked for (a search hit): show it once loaded, paging back until it is.
  const wanted = s.focus?.conversationId === id ? s.focus.messageId : null;
  useEffect(() => {
    if (!wanted || !h.loaded) return;
    if (handle.current?.reveal(wanted) || !h.hasMore) s.focus = null;
    else if (!h.loading) void s.loadOlder(id);
  }, [wanted, h.items.length, h.loaded, h.loading]);

  const onScroll = () => {
    const el = log.current;
    if (!el) return;
    atBottom.current = following && el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    capture();
    if (el.scrollTop < EDGE) up();
    else if (el.scrollHeight - el.scrollTop - el.clientHeight < EDGE && !following) down();
  };

  const byId = new Map(h.items.map((m) => [m.id, m]));
  return (
    <div class="log" ref={log} onScroll={onScroll} role="log" aria-label="Messages">
      {(start > 0 || h.hasMore) && h.loaded && (
        <button type="button" class="link older" disabled={h.loading} onClick={() => up()}>
          {h.loading ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      <ol class="messages">
        {visible.map((m) => (
          <MessageItem
            key={m.id}
            m={m}
            quoted={m.reply_to_id ? byId.get(m.reply_to_id) : undefined}
            group={group}
            canPin={canPin}
            onReply={() => onReply(m)}
            onEdit={() => onEdit(m)}
          />
        ))}
        {pending.map((p) => (
          <li key={p.client_id} class="message mine pending" aria-label="Sending">
            <div class="bubble">
              <p class="text">{p.content}</p>
              <span class="meta">
                <span role="img" aria-label="waiting to send">
                  🕓
                </span>
              </span>
            </div>
          </li>
        ))}
        {uploads.map((u) => (
          <li key={u.key} class="message mine pending upload" aria-label={`Uploading ${u.name}`}>
            <div class="bubble">
              <p class="text">{u.name}</p>
              {u.error ? (
                <p role="alert" class="error small">
                  {u.error}{' '}
                  <button type="button" class="link" onClick={() => s.dismissUpload(u.key)}>
                    Dismiss
                  </button>
                </p>
              ) : (
                <progress max={u.total || 1} value={u.loaded} aria-label={`Upload of ${u.name}`} />
              )}
            </div>
          </li>
        ))}
      </ol>
      {!following && (
        <button
          type="button"
          class="primary to-latest"
          onClick={() => {
            atBottom.current = true;
            setSlice({ top: null, bottom: null });
          }}
        >
          Jump to latest
        </button>
      )}
    </div>
  );
}
