// Friends and blocks: add by username, answer or withdraw requests, message or unfriend a friend, block and unblock.
import type { components } from '@tma/sdk';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, store } from '../store.ts';
import { Avatar } from './avatar.tsx';
import { BackButton } from './back-button.tsx';
import { navigate, useStore } from './util.ts';

type Friend = components['schemas']['Friend'];
type FriendRequest = components['schemas']['FriendRequest'];
type Block = components['schemas']['Block'];
type User = components['schemas']['User'];

interface Lists {
  friends: Friend[];
  requests: FriendRequest[];
  blocks: Block[];
}

const EMPTY: Lists = { friends: [], requests: [], blocks: [] };

async function loadLists(): Promise<Lists> {
  const api = store.rest.api;
  const query = { params: { query: { limit: 100 } } };
  const [friends, requests, blocks] = await Promise.all([
    api.GET('/api/v1/friends', query),
    api.GET('/api/v1/friends/requests', query),
    api.GET('/api/v1/blocks', query),
  ]);
  return {
    friends: friends.data?.data ?? [],
    requests: requests.data?.data ?? [],
    blocks: blocks.data?.data ?? [],
  };
}

function name(u: User): string {
  return u.display_name ?? u.username;
}

export function FriendsScreen() {
  const { friendsRevision } = useStore();
  const [lists, setLists] = useState<Lists>(EMPTY);
  const [loaded, setLoaded] = useState(false);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [username, setUsername] = useState('');

  const loads = useRef(0);
  const reload = async () => {
    const load = ++loads.current;
    const next = await loadLists();
    if (load !== loads.current) return; // a later load (a newer event) answers instead
    setLists(next);
    setLoaded(true);
  };
  // On open, and whenever a friend event (or a reconnect) moves the store's revision: the lists stay live.
  useEffect(() => {
    void reload();
  }, [friendsRevision]);

  /** Runs one request, says what happened, and reloads the lists. */
  const act = async (run: () => Promise<{ error?: unknown }>, done: string) => {
    const { error } = await run();
    setNote(error ? { text: errorText(error), error: true } : { text: done, error: false });
    await reload();
  };
  const api = store.rest.api;
  const unfriend = (u: User, done: string) =>
    act(() => api.DELETE('/api/v1/friends/{user_id}', { params: { path: { user_id: u.id } } }), done);
  const block = (u: User) =>
    act(
      () => api.PUT('/api/v1/blocks/{user_id}', { params: { path: { user_id: u.id } } }),
      `You blocked ${name(u)}`,
    );
  const answer = (r: FriendRequest, verb: 'accept' | 'reject') =>
    act(
      () =>
        api.PUT(`/api/v1/friends/requests/{id}/${verb}`, { params: { path: { id: r.id } } }) as Promise<{
          error?: unknown;
        }>,
      verb === 'accept' ? `You and ${name(r.user)} are friends` : `Request from ${name(r.user)} declined`,
    );
  const add = async (event: Event) => {
    event.preventDefault();
    const wanted = username.trim().replace(/^@/, '');
    if (!wanted) return;
    const { data, error } = await api.POST('/api/v1/friends/requests', { body: { username: wanted } });
    if (data) setUsername('');
    setNote(
      error
        ? { text: errorText(error), error: true }
        : {
            text:
              data?.data.status === 'accepted'
                ? `You and ${name(data.data.user)} are friends`
                : `Request sent to ${data ? name(data.data.user) : wanted}`,
            error: false,
          },
    );
    await reload();
  };
  const message = async (u: User) => {
    const existing = [...store.conversations.values()].find(
      (c) => c.type === 'dm' && store.peerOf(c) === u.id,
    );
    const id = existing?.id ?? (await store.createConversation([u.id]));
    if (id) navigate(id);
    else setNote({ text: `Could not open a chat with ${name(u)}`, error: true });
  };

  const incoming = lists.requests.filter((r) => r.direction === 'incoming');
  const outgoing = lists.requests.filter((r) => r.direction === 'outgoing');
  return (
    <section class="screen" aria-labelledby="friends-title">
      <header class="bar">
        <BackButton />
        <h2 id="friends-title" class="grow">
          Friends
        </h2>
      </header>
      <div class="screen-body">
        <form class="row" onSubmit={add}>
          <label class="grow">
            Add a friend by username
            <input
              name="friend"
              autoComplete="off"
              value={username}
              maxLength={32}
              onInput={(e) => setUsername((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="primary" disabled={!username.trim()}>
            Send request
          </button>
        </form>
        <p role="status" class={note?.error ? 'error' : 'muted small'}>
          {note?.text ?? ''}
        </p>

        <PeopleSection title="Requests" empty="No pending requests" loaded={loaded}>
          {incoming.map((r) => (
            <Person key={r.id} user={r.user} note="wants to be your friend">
              <button type="button" class="primary" onClick={() => void answer(r, 'accept')}>
                Accept<span class="visually-hidden"> {name(r.user)}</span>
              </button>
              <button type="button" onClick={() => void answer(r, 'reject')}>
                Decline<span class="visually-hidden"> {name(r.user)}</span>
              </button>
              <button type="button" onClick={() => void block(r.user)}>
                Block<span class="visually-hidden"> {name(r.user)}</span>
              </button>
            </Person>
          ))}
          {outgoing.map((r) => (
            <Person key={r.id} user={r.user} note="request sent">
              <button
                type="button"
                onClick={() => void unfriend(r.user, `Request to ${name(r.user)} withdrawn`)}
              >
                Cancel request<span class="visually-hidden"> to {name(r.user)}</span>
              </button>
            </Person>
          ))}
        </PeopleSection>

        <PeopleSection title="Your friends" empty="No friends yet" loaded={loaded}>
          {lists.friends.map((f) => (
            <Person key={f.user.id} user={f.user} note={`since ${new Date(f.since).toLocaleDateString()}`}>
              <button type="button" onClick={() => void message(f.user)}>
                Message<span class="visually-hidden"> {name(f.user)}</span>
              </button>
              <button
                type="button"
                onClick={() => void unfriend(f.user, `${name(f.user)} is no longer your friend`)}
              >
                Unfriend<span class="visually-hidden"> {name(f.user)}</span>
              </button>
              <button type="button" onClick={() => void block(f.user)}>
                Block<span class="visually-hidden"> {name(f.user)}</span>
              </button>
            </Person>
          ))}
        </PeopleSection>

        <PeopleSection title="Blocked" empty="Nobody is blocked" loaded={loaded}>
          {lists.blocks.map((b) => (
            <Person key={b.user.id} user={b.user} note="blocked">
              <button
                type="button"
                onClick={() =>
                  void act(
                    () =>
                      api.DELETE('/api/v1/blocks/{user_id}', { params: { path: { user_id: b.user.id } } }),
                    `${name(b.user)} is unblocked`,
                  )
                }
              >
                Unblock<span class="visually-hidden"> {name(b.user)}</span>
              </button>
            </Person>
          ))}
        </PeopleSection>
      </div>
    </section>
  );
}

function PeopleSection({
  title,
  empty,
  loaded,
  children,
}: {
  title: string;
  empty: string;
  loaded: boolean;
  children: ComponentChildren;
}) {
  const items = (Array.isArray(children) ? children.flat() : [children]).filter(Boolean);
  return (
    <section class="people-section" aria-label={title}>
      <h3>{title}</h3>
      {items.length > 0 ? (
        <ul class="people-list">{items}</ul>
      ) : (
        <p class="muted small">{loaded ? empty : 'Loading…'}</p>
      )}
    </section>
  );
}

function Person({ user, note, children }: { user: User; note: string; children: ComponentChildren }) {
  return (
    <li class="person">
      <Avatar id={user.id} name={name(user)} url={user.avatar_url} size="small" decorative />
      <span class="summary">
        <span class="title">{name(user)}</span>
        <span class="preview">
          @{user.username} · {note}
        </span>
      </span>
      <span class="person-actions">{children}</span>
    </li>
  );
}
