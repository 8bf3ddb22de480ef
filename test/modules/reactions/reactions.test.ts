// PUT|DELETE /messages/{id}/reactions/{emoji}: members react once per emoji, idempotently, at most 20 distinct.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { normaliseEmoji } from '../../../src/modules/reactions/emoji.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let outsider: TestUser;
let group: { id: string };
const added: Array<DomainEventMap['reaction.added']> = [];
const removed: Array<DomainEventMap['reaction.removed']> = [];

const url = (messageId: string, emoji: string) =>
  `/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;

beforeAll(async () => {
  app = await buildTestApp();
  app.tma.bus.subscribe('reaction.added', (e) => {
    added.push(e);
  });
  app.tma.bus.subscribe('reaction.removed', (e) => {
    removed.push(e);
  });
  [alice, bob, outsider] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
  group = await createGroup(app, alice, [bob]);
});
afterAll(async () => {
  await app.close();
});

describe('PUT /messages/{id}/reactions/{emoji}', () => {
  it('adds a reaction, shows it on the message, and publishes reaction.added with a seq', async () => {
    const message = await sendMessage(app, alice, group.id, 'react to me');
    const res = await call(app, bob, 'PUT', url(message.id, '👍'));
    expect(res.statusCode).toBe(200);
    expect(res.json().data.reactions).toEqual([{ emoji: '👍', count: 1, me: true }]);
    const event = added.find((e) => e.message_id === message.id);
    expect(event).toMatchObject({ conversation_id: group.id, user_id: bob.user.id, emoji: '👍' });
    expect(event?.seq).toBeGreaterThan(message.seq);
    const log = await call(app, alice, 'GET', `/conversations/${group.id}/events?after_seq=${message.seq}`);
    expect(log.json().data.map((e: { type: string }) => e.type)).toContain('reaction.added');
    const seen = await call(app, alice, 'GET', `/messages/${message.id}`);
    expect(seen.json().data.reactions).toEqual([{ emoji: '👍', count: 1, me: false }]);
  });

  it('is idempotent: the same reaction twice is one reaction and one event', async () => {
    const message = await sendMessage(app, alice, group.id, 'twice');
    await call(app, bob, 'PUT', url(message.id, '🎉'));
    const again = await call(app, bob, 'PUT', url(message.id, '🎉'));
    expect(again.statusCode).toBe(200);
    expect(again.json().data.reactions).toEqual([{ emoji: '🎉', count: 1, me: true }]);
    expect(added.filter((e) => e.message_id === message.id)).toHaveLength(1);
  });

  it('counts several users and emoji, and treats ❤ and ❤️ as the same reaction', async () => {
    const message = await sendMessage(app, alice, group.id, 'popular');
    await call(app, alice, 'PUT', url(message.id, '❤️'));
    await call(app, bob, 'PUT', url(message.id, '❤'));
    const res = await call(app, bob, 'PUT', url(message.id, '👨‍👩‍👧‍👦'));
    expect(res.json().data.reactions).toEqual([
      { emoji: '❤️', count: 2, me: true },
      { emoji: '👨‍👩‍👧‍👦', count: 1, me: true },
    ]);
  });

  it('refuses a 21st distinct emoji with 422, but accepts more of an existing one', async () => {
    const message = await sendMessage(app, alice, group.id, 'many');
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗'];
    expect(emoji).toHaveLength(20);
    for (const e of emoji) expect((await call(app, alice, 'PUT', url(message.id, e))).statusCode).toBe(200);
    const extra = await call(app, alice, 'PUT', url(message.id, '🤩'));
    expect(extra.statusCode).toBe(422);
    expect(extra.json().error.code).toBe('too_many_reactions');
    const same = await call(app, bob, 'PUT', url(message.id, '😀'));
    expect(same.statusCode).toBe(200);
    expect(same.json().data.reactions).toHaveLength(20);
  });

  it('keeps the 20-emoji cap under concurrent reactions', async () => {
    const message = await sendMessage(app, alice, group.id, 'race');
    const emoji = [...'🍏🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝🍅🍆🥑🥦🥬🥒🌶'];
    const results = await Promise.all(emoji.map((e) => call(app, alice, 'PUT', url(message.id, e))));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(20);
    expect(results.filter((r) => r.statusCode === 422)).toHaveLength(emoji.length - 20);
  });

  it('answers 404 to non-members and for unknown messages', async () => {
    const message = await sendMessage(app, alice, group.id, 'private');
    const res = await call(app, outsider, 'PUT', url(message.id, '👍'));
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    const unknown = await call(app, alice, 'PUT', url('0190f000-0000-7000-8000-000000000000', '👍'));
    expect(unknown.statusCode).toBe(404);
  });

  it('answers 422 for a deleted message', async () => {
    const message = await sendMessage(app, alice, group.id, 'gone soon');
    await call(app, alice, 'DELETE', `/messages/${message.id}`);
    const res = await call(app, bob, 'PUT', url(message.id, '👍'));
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('message_deleted');
  });

  it('answers 400 to anything but one emoji, and to a malformed id', async () => {
    const message = await sendMessage(app, alice, group.id, 'strict');
    for (const bad of ['a', '👍👍', 'ok', '#', ' ', '👍 ', 'x'.repeat(40)]) {
      const res = await call(app, bob, 'PUT', url(message.id, bad));
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
    expect((await call(app, bob, 'PUT', url('not-a-uuid', '👍'))).statusCode).toBe(400);
  });

  it('requires authentication', async () => {
    const message = await sendMessage(app, alice, group.id, 'anon');
    expect((await call(app, null, 'PUT', url(message.id, '👍'))).statusCode).toBe(401);
  });
});

describe('DELETE /messages/{id}/reactions/{emoji}', () => {
  it("removes only the caller's reaction, publishes reaction.removed, and is idempotent", async () => {
    const message = await sendMessage(app, alice, group.id, 'undo');
    await call(app, alice, 'PUT', url(message.id, '👍'));
    await call(app, bob, 'PUT', url(message.id, '👍'));
    const res = await call(app, bob, 'DELETE', url(message.id, '👍'));
    expect(res.statusCode).toBe(200);
    expect(res.json().data.reactions).toEqual([{ emoji: '👍', count: 1, me: false }]);
    const again = await call(app, bob, 'DELETE', url(message.id, '👍'));
    expect(again.statusCode).toBe(200);
    const events = removed.filter((e) => e.message_id === message.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: bob.user.id, emoji: '👍', conversation_id: group.id });
  });

  it('answers 404 to non-members and 400 to a bad emoji', async () => {
    const message = await sendMessage(app, alice, group.id, 'mine');
    expect((await call(app, outsider, 'DELETE', url(message.id, '👍'))).statusCode).toBe(404);
    expect((await call(app, alice, 'DELETE', url(message.id, 'no'))).statusCode).toBe(400);
  });
});

describe('normaliseEmoji', () => {
  it('accepts single RGI emoji (with skin tones, ZWJ sequences, flags, keycaps) and qualifies text-style ones', () => {
    for (const e of ['👍', '👋🏽', '🏳️‍🌈', '🇻🇳', '1️⃣', '❤️']) expect(normaliseEmoji(e)).toBe(e);
    expect(normaliseEmoji('❤')).toBe('❤️');
    for (const e of ['', 'a', '1', '👍👍', '©x']) expect(normaliseEmoji(e)).toBeUndefined();
  });
});
