// The screens: sign in / register, the conversation list, the chat view, new chat.
import type { Conversation, Message, MessageSearchHit, User } from '@tma/sdk';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { store } from './store.ts';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

function useStore() {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), []);
  return store;
}

function route(): string | null {
  const match = /^\/c\/([0-9a-f-]{36})$/i.exec(location.pathname);
  return match ? match[1]! : null;
}

function navigate(id: string | null): void {
  const path = id ? `/c/${id}` : '/';
  if (location.pathname !== path) history.pushState(null, '', path);
  store.open(id);
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function presenceText(online: boolean, lastSeen: string | null | undefined): string {
  if (online) return 'online';
  if (!lastSeen) return 'offline';
  const at = new Date(lastSeen);
  const today = at.toDateString() === new Date().toDateString();
  return `last seen ${today ? time(lastSeen) : at.toLocaleDateString()}`;
}

export function App() {
  const s = useStore();
  useEffect(() => {
    void s.boot().then(() => s.open(route()));
    const onPop = () => s.open(route());
    const offline = () => s.rt?.offline();
    const online = () => s.rt?.online();
    addEventListener('popstate', onPop);
    addEventListener('offline', offline);
    addEventListener('online', online);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('offline', offline);
      removeEventListener('online', online);
    };
  }, [s]);
  if (s.booting) return <p class="center">Loading…</p>;
  if (!s.me) return <AuthScreen />;
  return <Shell />;
}

function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    const failed = await store.signIn(mode, String(form.get('username')), String(form.get('password')));
    setBusy(false);
    if (failed) setError(failed);
    else store.open(route());
  };
  const register = mode === 'register';
  return (
    <main class="auth">
      <form class="card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{register ? 'Create your account' : 'Sign in to TMA'}</h1>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={register ? 'new-password' : 'current-password'}
            required
            minLength={8}
          />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {register ? 'Create account' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => setMode(register ? 'login' : 'register')}>
          {register ? 'I already have an account' : 'New here? Create an account'}
        </button>
      </form>
    </main>
  );
}

const STATE_TEXT = {
  connected: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: messages will be sent when you are back online',
  closed: 'Disconnected',
} as const;

function Shell() {
  const s = useStore();
  const [newChat, setNewChat] = useState(false);
  return (
    <div class={`shell ${s.activeId ? 'has-chat' : ''}`}>
      <aside class="sidebar" aria-label="Conversations">
        <header class="bar">
          <strong class="me" title={s.me?.username}>
            {s.userName(s.me?.id)}
          </strong>
          <span class={`conn conn-${s.connection}`} role="status" aria-live="polite">
            {STATE_TEXT[s.connection]}
          </span>
          <button type="button" onClick={() => void s.signOut()}>
            Sign out
          </button>
        </header>
        <ConversationList onNew={() => setNewChat(true)} />
      </aside>
      <main class="main">{s.activeId ? <ChatView id={s.activeId} key={s.activeId} /> : <Empty />}</main>
      {newChat && <NewChatDialog onClose={() => setNewChat(false)} />}
    </div>
  );
}

function Empty() {
  return <p class="center muted">Pick a conversation, or start a new one.</p>;
}

function preview(s: typeof store, c: Conversation): string {
  const m = c.last_message;
  if (!m) return 'No messages yet';
  const who = m.sender_id === s.me?.id ? 'You: ' : c.type === 'group' ? `${s.userName(m.sender_id)}: ` : '';
  return who + (m.deleted_at ? 'Message deleted' : (m.content ?? `[${m.type}]`));
}

function ConversationList({ onNew }: { onNew: () => void }) {
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
                <span class="avatar" aria-hidden="true">
                  {title.slice(0, 1).toUpperCase()}
                  {peer && <span class={`dot ${online ? 'on' : ''}`} />}
                </span>
                <span class="summary">
                  <span class="title">
                    {title}
                    {peer && <span class="visually-hidden">{online ? ' (online)' : ' (offline)'}</span>}
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
                    onClick={() => navigate(hit.message.conversation_id)}
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

function NewChatDialog({ onClose }: { onClose: () => void }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [picked, setPicked] = useState<Map<string, User>>(new Map());
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    const term = q.trim();
    if (!term) return setResults([]);
    const timer = setTimeout(() => void store.searchPeople(term).then(setResults), 150);
    return () => clearTimeout(timer);
  }, [q]);
  const toggle = (u: User) => {
    const next = new Map(picked);
    if (next.has(u.id)) next.delete(u.id);
    else next.set(u.id, u);
    setPicked(next);
  };
  const create = async () => {
    const id = await store.createConversation([...picked.keys()], name.trim() || undefined);
    if (!id) return setError('Could not start the conversation');
    onClose();
    navigate(id);
  };
  return (
    <div class="backdrop">
      <div
        class="card dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="new-chat-title"
        onKeyDown={(e) => e.key === 'Escape' && onClose()}
      >
        <h2 id="new-chat-title">New chat</h2>
        <label>
          Find people
          <input
            ref={input}
            type="search"
            value={q}
            onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <ul class="people">
          {results.map((u) => (
            <li key={u.id}>
              <label>
                <input type="checkbox" checked={picked.has(u.id)} onChange={() => toggle(u)} />
                {u.display_name ?? u.username} <span class="muted">@{u.username}</span>
              </label>
            </li>
          ))}
        </ul>
        {picked.size > 1 && (
          <label>
            Group name
            <input
              value={name}
              maxLength={100}
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
        )}
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="row">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="primary" disabled={picked.size === 0} onClick={() => void create()}>
            Start chat
          </button>
        </div>
      </div>
    </div>
  );
}

const TICK = { sent: '✓', delivered: '✓✓', read: '✓✓' } as const;

function ChatView({ id }: { id: string }) {
  const s = useStore();
  const c = s.conversations.get(id);
  const h = s.history(id);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const log = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ height: number; top: number; first?: string } | null>(null);
  const atBottom = useRef(true);
  const pending = s.outbox.filter((p) => p.conversation_id === id);
  const count = h.items.length + pending.length;

  // Scroll anchoring: older pages keep what was on screen in place; new messages follow when at the bottom.
  useLayoutEffect(() => {
    const el = log.current;
    if (!el) return;
    const before = anchor.current;
    if (before && before.first !== h.items[0]?.id)
      el.scrollTop = before.top + (el.scrollHeight - before.height);
    else if (atBottom.current) el.scrollTop = el.scrollHeight;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop, first: h.items[0]?.id };
  }, [count, h.items[0]?.id]);

  const onScroll = () => {
    const el = log.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop, first: h.items[0]?.id };
    if (el.scrollTop < 80 && h.hasMore && !h.loading) void s.loadOlder(id);
  };

  if (!c) return <p class="center muted">Loading conversation…</p>;
  const peer = s.peerOf(c);
  const typing = s.typingNames(id);
  const byId = new Map(h.items.map((m) => [m.id, m]));
  return (
    <section class="chat" aria-label={`Chat with ${s.title(c)}`}>
      <header class="bar">
        <button type="button" class="back" onClick={() => navigate(null)} aria-label="Back to conversations">
          ←
        </button>
        <div class="grow">
          <h2>{s.title(c)}</h2>
          <p class="muted small" aria-live="polite">
            {typing.length > 0
              ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
              : peer
                ? presenceText(s.online.get(peer) === true, s.lastSeen.get(peer))
                : `${c.members.length} members`}
          </p>
        </div>
      </header>
      <div class="log" ref={log} onScroll={onScroll} role="log" aria-label="Messages">
        {h.hasMore && h.loaded && (
          <button type="button" class="link older" disabled={h.loading} onClick={() => void s.loadOlder(id)}>
            {h.loading ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        <ol class="messages">
          {h.items.map((m) => (
            <MessageItem
              key={m.id}
              m={m}
              quoted={m.reply_to_id ? byId.get(m.reply_to_id) : undefined}
              group={c.type === 'group'}
              onReply={() => {
                setEditing(null);
                setReplyTo(m);
              }}
              onEdit={() => {
                setReplyTo(null);
                setEditing(m);
              }}
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
        </ol>
      </div>
      <Composer
        id={id}
        replyTo={replyTo}
        editing={editing}
        onEditLast={() => {
          const last = [...h.items].reverse().find((m) => m.sender_id === s.me?.id && !m.deleted_at);
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
    </section>
  );
}

function MessageItem({
  m,
  quoted,
  group,
  onReply,
  onEdit,
}: {
  m: Message;
  quoted?: Message;
  group: boolean;
  onReply: () => void;
  onEdit: () => void;
}) {
  const s = store;
  const [picking, setPicking] = useState(false);
  const mine = m.sender_id === s.me?.id;
  const deleted = m.deleted_at !== null;
  const tick = mine && !deleted ? s.tick(m) : null;
  return (
    <li class={`message ${mine ? 'mine' : ''} ${deleted ? 'deleted' : ''}`} data-seq={m.seq}>
      <div class="bubble">
        {group && !mine && <span class="sender">{s.userName(m.sender_id)}</span>}
        {m.reply_to_id && (
          <blockquote class="quote">
            {quoted ? (quoted.deleted_at ? 'Message deleted' : (quoted.content ?? '')) : 'Earlier message'}
          </blockquote>
        )}
        <p class="text">{deleted ? <em>Message deleted</em> : (m.content ?? `[${m.type}]`)}</p>
        <span class="meta">
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
          {mine && (
            <>
              <button type="button" onClick={onEdit}>
                Edit
              </button>
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

function Composer({
  id,
  replyTo,
  editing,
  onDone,
  onEditLast,
}: {
  id: string;
  replyTo: Message | null;
  editing: Message | null;
  onDone: () => void;
  /** ArrowUp in an empty composer edits your last message. */
  onEditLast: () => void;
}) {
  const [text, setText] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(0);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    if (editing) setText(editing.content ?? '');
    if (editing || replyTo) area.current?.focus();
  }, [editing, replyTo]);

  const submit = () => {
    const content = text.trim();
    if (!content) return;
    if (editing) void store.edit(editing, content);
    else store.send(id, content, replyTo?.id);
    typingSent.current = 0;
    setText('');
    onDone();
  };
  const onInput = (value: string) => {
    setText(value);
    if (editing) return;
    const now = Date.now();
    if (now - typingSent.current > 2_000) {
      typingSent.current = now;
      void store.rt?.typing(id, true);
    }
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = setTimeout(() => {
      typingSent.current = 0;
      void store.rt?.typing(id, false);
    }, 3_000);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    } else if (e.key === 'ArrowUp' && text === '' && !editing) {
      e.preventDefault();
      onEditLast();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      setText('');
      onDone();
    }
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {(replyTo || editing) && (
        <div class="context">
          <span>
            {editing ? 'Editing message' : `Replying to ${store.userName(replyTo?.sender_id)}: `}
            {replyTo && <em>{replyTo.content}</em>}
          </span>
          <button
            type="button"
            onClick={() => {
              setText('');
              onDone();
            }}
          >
            Cancel
          </button>
        </div>
      )}
      <div class="row">
        <textarea
          ref={area}
          aria-label="Message"
          placeholder="Message"
          rows={1}
          maxLength={10_000}
          value={text}
          onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="primary">
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
