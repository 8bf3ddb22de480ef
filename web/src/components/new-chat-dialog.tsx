// New chat: find people; one person makes a DM, more a group with an optional name.
import type { User } from '@tma/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from '../store.ts';
import { useDialog } from './use-dialog.ts';
import { navigate } from './util.ts';

export function NewChatDialog({ onClose }: { onClose: () => void }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [picked, setPicked] = useState<Map<string, User>>(new Map());
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const dialog = useDialog<HTMLDivElement>(onClose);
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
        ref={dialog}
        tabIndex={-1}
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
