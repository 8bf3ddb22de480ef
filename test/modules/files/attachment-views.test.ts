// A file message shows its files wherever a message view appears, not only in history and new_message:
// conversation list and detail, catch-up events, search, pins, reactions, and the link-preview update.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { png, uploadReady } from './files-helpers.js';
import { type StorageFixture, startStorage } from './storage-fixture.js';

describe('attachments in every message view', () => {
  let storage: StorageFixture;
  let app: FastifyInstance;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  let message: MessageView;
  let fileId: string;

  const get = async <T>(user: TestUser, url: string): Promise<T> => {
    const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: user.headers });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { data: T }).data;
  };
  const fileIdsOf = (view: MessageView | null | undefined) => view?.attachments.map((a) => a.id);

  beforeAll(async () => {
    storage = await startStorage('local');
    app = await buildTestApp(storage.env);
    alice = await createUser(app);
    bob = await createUser(app);
    conversationId = (await createGroup(app, alice, [bob])).id;
    const file = await uploadReady(app, alice, await png(40, 30));
    fileId = file.id;
    message = await sendMessage(app, alice, conversationId, {
      type: 'image',
      content: 'sunset caption',
      attachments: [file.id],
    });
    expect(fileIdsOf(message)).toEqual([fileId]);
  });

  afterAll(async () => {
    await app?.close();
    await storage?.stop();
  });

  it('conversation list and detail: last_message carries the file', async () => {
    const list = await get<Array<{ id: string; last_message: MessageView | null }>>(bob, '/conversations');
    const row = list.find((c) => c.id === conversationId);
    expect(fileIdsOf(row?.last_message)).toEqual([fileId]);
    const detail = await get<{ last_message: MessageView | null }>(bob, `/conversations/${conversationId}`);
    expect(fileIdsOf(detail.last_message)).toEqual([fileId]);
    expect(detail.last_message?.attachments[0]?.url).toContain(fileId);
  });

  it('catch-up events carry the file in the message payload', async () => {
    const events = await get<Array<{ type: string; payload: { message?: MessageView } }>>(
      bob,
      `/conversations/${conversationId}/events?after_seq=0`,
    );
    const created = events.find((e) => e.type === 'message.created' && e.payload.message?.id === message.id);
    expect(fileIdsOf(created?.payload.message)).toEqual([fileId]);
  });

  it('search hits carry the file', async () => {
    const hits = await get<Array<{ message: MessageView }>>(bob, '/search/messages?q=sunset');
    expect(hits.map((h) => fileIdsOf(h.message))).toEqual([[fileId]]);
  });

  it('a reaction answers the message with its file', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`,
      headers: bob.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(fileIdsOf(res.json().data)).toEqual([fileId]);
  });

  it('the pin list carries the file', async () => {
    const pinned = await app.inject({
      method: 'PUT',
      url: `/api/v1/messages/${message.id}/pin`,
      headers: alice.headers,
    });
    expect(pinned.statusCode, pinned.body).toBeLessThan(300);
    const pins = await get<Array<{ message: MessageView }>>(bob, `/conversations/${conversationId}/pins`);
    expect(pins.map((p) => fileIdsOf(p.message))).toEqual([[fileId]]);
  });

  it('a deleted file message shows no files anywhere', async () => {
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/messages/${message.id}`,
      headers: alice.headers,
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    const detail = await get<{ last_message: MessageView | null }>(bob, `/conversations/${conversationId}`);
    expect(detail.last_message?.deleted_at).toBeTruthy();
    expect(detail.last_message?.attachments).toEqual([]);
  });
});
