// The SDK (sdk/) against the real app on a real port: REST typed by the generated OpenAPI types, and the realtime
// client's promises: ordered events without duplicates, a seq gap filled by `sync`, catch-up after a reconnect,
// and an outbox that retries with the same client_id so a message is stored once.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Conversation,
  createRest,
  type FriendRequest,
  liveEventFromLog,
  type Message,
  memoryTokenStore,
  TmaRealtime,
  type TmaRest,
} from '../../sdk/src/index.js';
import { buildTestApp } from '../helpers/app.js';

const PASSWORD = 'Quiet-Harbor-Lantern-42';

interface Person {
  rest: TmaRest;
  id: string;
  rt: TmaRealtime;
  messages: Message[];
}

let app: FastifyInstance;
let url: string;
let alice: Person;
let bob: Person;
let dm: Conversation;
const realtimes: TmaRealtime[] = [];

async function signUp(name: string): Promise<Person> {
  const rest = createRest({ baseUrl: url, tokens: memoryTokenStore() });
  const username = `${name}_${randomBytes(3).toString('hex')}`;
  const registered = await rest.api.POST('/api/v1/auth/register', { body: { username, password: PASSWORD } });
  expect(registered.error).toBeUndefined();
  const login = await rest.api.POST('/api/v1/auth/login', { body: { username, password: PASSWORD } });
  rest.tokens.set(login.data!.data);
  const rt = new TmaRealtime({
    url,
    getToken: () => rest.tokens.get()?.access_token,
    refresh: () => rest.refresh(),
    socket: { forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
  realtimes.push(rt);
  const messages: Message[] = [];
  rt.on('new_message', (m) => messages.push(m));
  return { rest, id: login.data!.data.user.id, rt, messages };
}

async function connected(rt: TmaRealtime): Promise<void> {
  const synced = new Promise<void>((resolve) => {
    const off = rt.on('synced', () => {
      off();
      resolve();
    });
  });
  rt.connect();
  await synced;
}

beforeAll(async () => {
  app = await buildTestApp();
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  alice = await signUp('alice');
  bob = await signUp('bob');
  const created = await alice.rest.api.POST('/api/v1/conversations', {
    body: { type: 'dm', member_ids: [bob.id] },
  });
  dm = created.data!.data;
  await Promise.all([connected(alice.rt), connected(bob.rt)]);
});
afterAll(async () => {
  for (const rt of realtimes) rt.close();
  await app?.close();
});

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 20 });

function contents(p: Person): string[] {
  return p.messages.filter((m) => m.conversation_id === dm.id).map((m) => m.content ?? '');
}

describe('the SDK against a running server', () => {
  it('learns conversations on connect, sends through the outbox and delivers live, in order', async () => {
    // Sync on connect found the DM (created before any cursor existed) for both.
    expect(alice.rt.cursor(dm.id)).toBe(dm.last_seq);
    expect(bob.rt.cursor(dm.id)).toBe(dm.last_seq);
    const sent: string[] = [];
    alice.rt.on('sent', ({ message }) => sent.push(message.content ?? ''));
    for (let i = 1; i <= 5; i++) alice.rt.send(dm.id, `live ${i}`);
    await until(() => expect(contents(bob)).toEqual(['live 1', 'live 2', 'live 3', 'live 4', 'live 5']));
    expect(sent).toEqual(['live 1', 'live 2', 'live 3', 'live 4', 'live 5']);
    expect(alice.rt.outbox).toEqual([]);
    expect(bob.rt.cursor(dm.id)).toBe(alice.rt.cursor(dm.id));
  });

  it('fills a seq gap with sync: a missed event arrives before the one that revealed the gap', async () => {
    bob.messages.length = 0;
    const io = app.realtime.io.of('/messaging');
    // Bob's socket misses one message (out of the room), then is back in the room for the next.
    io.in(`user:${bob.id}`).socketsLeave(`conversation:${dm.id}`);
    await alice.rest.api.POST('/api/v1/conversations/{id}/messages', {
      params: { path: { id: dm.id } },
      body: { content: 'missed' },
    });
    io.in(`user:${bob.id}`).socketsJoin(`conversation:${dm.id}`);
    await alice.rest.api.POST('/api/v1/conversations/{id}/messages', {
      params: { path: { id: dm.id } },
      body: { content: 'revealed the gap' },
    });
    await until(() => expect(contents(bob)).toEqual(['missed', 'revealed the gap']));
  });

  it('catches up after a disconnect with exactly the events it missed, and flushes its own queued sends once', async () => {
    bob.messages.length = 0;
    const updates: string[] = [];
    bob.rt.on('message_updated', (m) => updates.push(m.content ?? ''));
    const states: string[] = [];
    bob.rt.on('state', (s) => states.push(s));
    bob.rt.offline();
    expect(bob.rt.state).toBe('offline');
    const first = await alice.rest.api.POST('/api/v1/conversations/{id}/messages', {
      params: { path: { id: dm.id } },
      body: { content: 'away 1' },
    });
    for (let i = 2; i <= 12; i++) {
      await alice.rest.api.POST('/api/v1/conversations/{id}/messages', {
        params: { path: { id: dm.id } },
        body: { content: `away ${i}` },
      });
    }
    await alice.rest.api.PATCH('/api/v1/messages/{id}', {
      params: { path: { id: first.data!.data.id } },
      body: { content: 'away 1, edited' },
    });
    // Bob writes while offline: queued, sent after the catch-up.
    const queued = bob.rt.send(dm.id, 'from bob while offline');
    expect(bob.rt.outbox).toHaveLength(1);
    const stored = new Promise<Message>((resolve) => bob.rt.on('sent', ({ message }) => resolve(message)));
    bob.rt.online();
    const message = await stored;
    expect(message.client_id).toBe(queued.client_id);
    await until(() => expect(contents(bob)).toHaveLength(13));
    // Catch-up carries each message's current view (the edit is already in it), then the edit event itself.
    expect(contents(bob)).toEqual([
      'away 1, edited',
      ...Array.from({ length: 11 }, (_, i) => `away ${i + 2}`),
      'from bob while offline',
    ]);
    expect(updates).toEqual(['away 1, edited']);
    expect(states).toEqual(['offline', 'reconnecting', 'connected']);
  });

  it('retries a send with the same client_id: the server stores it once', async () => {
    const clientId = crypto.randomUUID();
    const stored: Message[] = [];
    const off = alice.rt.on('sent', ({ message }) => stored.push(message));
    alice.rt.send(dm.id, 'once', { client_id: clientId });
    alice.rt.send(dm.id, 'once', { client_id: clientId });
    await until(() => expect(stored).toHaveLength(2));
    off();
    expect(stored[0]!.id).toBe(stored[1]!.id);
    const history = await bob.rest.api.GET('/api/v1/conversations/{id}/messages', {
      params: { path: { id: dm.id }, query: { limit: 5 } },
    });
    expect(history.data!.data.filter((m) => m.client_id === clientId)).toHaveLength(1);
  });

  it('turns stored events into the same payloads the live events carried', async () => {
    const live: Array<{ name: string; payload: unknown }> = [];
    const names = ['reaction_added', 'reaction_removed', 'message_pinned', 'message_deleted'] as const;
    for (const name of names) bob.rt.on(name, (payload) => live.push({ name, payload }));
    const before = bob.rt.cursor(dm.id)!;
    const sent = await alice.rest.api.POST('/api/v1/conversations/{id}/messages', {
      params: { path: { id: dm.id } },
      body: { content: 'to react to' },
    });
    const path = { params: { path: { id: sent.data!.data.id, emoji: '👍' } } };
    await alice.rest.api.PUT('/api/v1/messages/{id}/reactions/{emoji}', path);
    await alice.rest.api.DELETE('/api/v1/messages/{id}/reactions/{emoji}', path);
    await alice.rest.api.PUT('/api/v1/messages/{id}/pin', { params: { path: { id: sent.data!.data.id } } });
    await alice.rest.api.DELETE('/api/v1/messages/{id}', { params: { path: { id: sent.data!.data.id } } });
    await until(() => expect(live.map((e) => e.name)).toEqual([...names]));

    const stored = await bob.rest.api.GET('/api/v1/conversations/{id}/events', {
      params: { path: { id: dm.id }, query: { after_seq: before, limit: 100 } },
    });
    const replayed = stored
      .data!.data.map((e) => liveEventFromLog(e))
      .filter((e) => e && e.name !== 'new_message');
    expect(replayed).toEqual(live);
  });

  it('refreshes an expired token on 401 and keeps going', async () => {
    const tokens = alice.rest.tokens.get()!;
    alice.rest.tokens.set({ ...tokens, access_token: `${tokens.access_token}x` });
    const me = await alice.rest.api.GET('/api/v1/auth/me');
    expect(me.data?.data.id).toBe(alice.id);
    expect(alice.rest.tokens.get()!.refresh_token).not.toBe(tokens.refresh_token);
  });
});

describe('friend events through the SDK', () => {
  it('hands out friend_request, friend_request_updated and friend_removed typed as the server sends them', async () => {
    const carol = await signUp('carol');
    await connected(carol.rt);
    const requests: FriendRequest[] = [];
    carol.rt.on('friend_request', (r) => requests.push(r));
    const answered: FriendRequest[] = [];
    alice.rt.on('friend_request_updated', (r) => answered.push(r));
    const removed: string[] = [];
    carol.rt.on('friend_removed', ({ user_id }) => removed.push(user_id));

    const sent = await alice.rest.api.POST('/api/v1/friends/requests', { body: { user_id: carol.id } });
    const id = sent.data!.data.id;
    await until(() =>
      expect(requests).toMatchObject([{ id, direction: 'incoming', user: { id: alice.id } }]),
    );
    await carol.rest.api.PUT('/api/v1/friends/requests/{id}/accept', { params: { path: { id } } });
    await until(() => expect(answered).toMatchObject([{ id, status: 'accepted', user: { id: carol.id } }]));
    await alice.rest.api.DELETE('/api/v1/friends/{user_id}', { params: { path: { user_id: carol.id } } });
    await until(() => expect(removed).toEqual([alice.id]));
  });
});
