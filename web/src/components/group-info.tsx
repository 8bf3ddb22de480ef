// A group's details: name and description (admins edit), members with roles (admins promote, demote, remove,
// add), mute, and leave.
import type { Conversation, User } from '@tma/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { uploadGroupAvatar } from '../avatars.ts';
import { store } from '../store.ts';
import { Avatar, ConversationAvatar, UserAvatar } from './avatar.tsx';
import { useDialog } from './use-dialog.ts';
import { navigate, useStore } from './util.ts';

export function GroupInfo({ conversation: c, onClose }: { conversation: Conversation; onClose: () => void }) {
  const s = useStore();
  const admin = c.my_role === 'admin';
  const [name, setName] = useState(c.name ?? '');
  const [description, setDescription] = useState(c.description ?? '');
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [q, setQ] = useState('');
  const [found, setFound] = useState<User[]>([]);
  const dialog = useDialog<HTMLDivElement>(onClose, 'dialog');
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    const term = q.trim();
    if (!term) return setFound([]);
    const timer = setTimeout(() => void store.searchPeople(term).then(setFound), 150);
    return () => clearTimeout(timer);
  }, [q]);

  const run = async (work: Promise<string | null>, done: string) => {
    const error = await work;
    setNote(error ? { text: error, error: true } : { text: done, error: false });
    return !error;
  };
  const members = [...c.members].sort(
    (a, b) =>
      (a.role === b.role ? 0 : a.role === 'admin' ? -1 : 1) ||
      s.userName(a.user_id).localeCompare(s.userName(b.user_id)),
  );
  const memberIds = new Set(c.members.map((m) => m.user_id));
  const muted = c.muted_until !== null && new Date(c.muted_until) > new Date();

  return (
    <div class="backdrop">
      <div
        class="card dialog wide"
        role="dialog"
        aria-modal="true"
        aria-labelledby="group-info-title"
        ref={dialog}
        tabIndex={-1}
      >
        <h2 id="group-info-title">Group info</h2>
        <div class="avatar-edit">
          <ConversationAvatar c={c} size="large" />
          {admin && (
            <>
              <label class="button">
                Upload group picture
                <input
                  type="file"
                  class="visually-hidden"
                  accept="image/jpeg,image/png,image/webp,image/gif,image/avif"
                  onChange={(e) => {
                    const input = e.currentTarget as HTMLInputElement;
                    const file = input.files?.[0];
                    input.value = '';
                    if (file) void run(uploadGroupAvatar(c.id, file), 'Group picture saved');
                  }}
                />
              </label>
              {c.avatar_url && (
                <button
                  type="button"
                  onClick={() =>
                    void run(store.updateGroup(c.id, { avatar_url: null }), 'Group picture removed')
                  }
                >
                  Remove group picture
                </button>
              )}
            </>
          )}
        </div>
        {admin ? (
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              void run(
                store.updateGroup(c.id, { name: name.trim(), description: description.trim() || null }),
                'Group updated',
              );
            }}
          >
            <label>
              Group name
              <input
                ref={first}
                value={name}
                required
                maxLength={100}
                onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
              />
            </label>
            <label>
              Description
              <input
                value={description}
                maxLength={500}
                onInput={(e) => setDescription((e.currentTarget as HTMLInputElement).value)}
              />
            </label>
            <div class="row">
              <button type="submit" class="primary" disabled={!name.trim()}>
                Save name
              </button>
            </div>
          </form>
        ) : (
          <div>
            <p class="title">{c.name ?? s.title(c)}</p>
            {c.description && <p class="muted small">{c.description}</p>}
          </div>
        )}

        <section aria-label="Members">
          <h3 class="small">{c.members.length} members</h3>
          <ul class="people-list">
            {members.map((m) => {
              const who = s.userName(m.user_id);
              const me = m.user_id === s.me?.id;
              return (
                <li class="person" key={m.user_id}>
                  <UserAvatar id={m.user_id} size="small" decorative />
                  <span class="summary">
                    <span class="title">
                      {who}
                      {me ? ' (you)' : ''}
                    </span>
                    <span class="preview">{m.role === 'admin' ? 'admin' : 'member'}</span>
                  </span>
                  {admin && !me && (
                    <span class="person-actions">
                      <button
                        type="button"
                        onClick={() =>
                          void run(
                            store.setRole(c.id, m.user_id, m.role === 'admin' ? 'member' : 'admin'),
                            m.role === 'admin' ? `${who} is no longer an admin` : `${who} is now an admin`,
                          )
                        }
                      >
                        {m.role === 'admin' ? 'Remove admin' : 'Make admin'}
                        <span class="visually-hidden"> {who}</span>
                      </button>
                      <button
                        type="button"
                        onClick={() => void run(store.removeMember(c.id, m.user_id), `${who} was removed`)}
                      >
                        Remove<span class="visually-hidden"> {who}</span>
                      </button>
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        </section>

        {admin && (
          <section aria-label="Add members" class="stack">
            <label>
              Add people
              <input
                type="search"
                value={q}
                onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
              />
            </label>
            <ul class="people-list">
              {found
                .filter((u) => !memberIds.has(u.id))
                .map((u) => (
                  <li class="person" key={u.id}>
                    <Avatar
                      id={u.id}
                      name={u.display_name ?? u.username}
                      url={u.avatar_url}
                      size="small"
                      decorative
                    />
                    <span class="summary">
                      <span class="title">{u.display_name ?? u.username}</span>
                      <span class="preview">@{u.username}</span>
                    </span>
                    <button
                      type="button"
                      onClick={() =>
                        void run(
                          store.addMembers(c.id, [u.id]),
                          `${u.display_name ?? u.username} was added`,
                        ).then((ok) => ok && setQ(''))
                      }
                    >
                      Add<span class="visually-hidden"> {u.username}</span>
                    </button>
                  </li>
                ))}
            </ul>
          </section>
        )}

        <p role="status" class={note?.error ? 'error' : 'muted small'}>
          {note?.text ?? ''}
        </p>
        <div class="row">
          <button
            type="button"
            class="danger"
            onClick={() =>
              void store.removeMember(c.id, s.me!.id).then((error) => {
                if (error) return setNote({ text: error, error: true });
                onClose();
                navigate(null);
              })
            }
          >
            Leave group
          </button>
          <button
            type="button"
            aria-pressed={muted}
            onClick={() => void run(store.mute(c.id, !muted), muted ? 'Notifications on' : 'Muted')}
          >
            {muted ? 'Unmute' : 'Mute'}
          </button>
          <span class="grow" />
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
