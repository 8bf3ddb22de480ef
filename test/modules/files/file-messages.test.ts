// Messages with files on both storage drivers: send with attachments, new_message carries signed URLs, thumbnails
// announce message_updated, forwarding shares files, deleting removes them, and only members see them.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../../src/events/domain-events.js';
import { SWEEP_QUEUE } from '../../../src/modules/files/files.jobs.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';
import { closeAllSockets, collect, connectSocket, nextEvent } from '../../helpers/sockets.js';
import { getFile, png, ticket, uploadReady } from './files-helpers.js';
import { type Driver, request, type StorageFixture, startStorage } from './storage-fixture.js';

async function createGroup(
  app: FastifyInstance,
  owner: TestUser,
  members: TestUser[],
): Promise<{ id: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/conversations',
    headers: owner.headers,
    payload: { type: 'group', name: 'Files', member_ids: members.map((m) => m.user.id) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data;
}

async function sendMessage(
  app: FastifyInstance,
  user: TestUser,
  conversationId: string,
  payload: object,
): Promise<MessageView> {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/conversations/${conversationId}/messages`,
    headers: user.headers,
    payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data;
}

describe.each<Driver>(['local', 's3'])('messages with files on the %s driver', (driver) => {
  let storage: StorageFixture;
  let app: FastifyInstance;

  beforeAll(async () => {
    storage = await startStorage(driver);
    app = await buildTestApp(storage.env);
  });

  afterEach(() => closeAllSockets());

  afterAll(async () => {
    await app?.close();
    await storage?.stop();
  });

  const post = (user: TestUser, conversationId: string, payload: object) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: user.headers,
      payload,
    });
  const objectExists = async (key: string) =>
    (await app.tma.services.files.deps.storage.size(key)) !== undefined;

  it('upload, complete, send: a member gets new_message with the file and downloads the exact bytes', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const outsider = await createUser(app);
    const group = await createGroup(app, alice, [bob]);
    const bytes = await png(800, 600);
    const file = await uploadReady(app, alice, bytes);

    const socket = await connectSocket(app, bob.token);
    const arrived = nextEvent<MessageView>(socket, 'new_message', (m) => m.type === 'image', 5000);
    const updates = collect<MessageView>(socket, 'message_updated');
    const sent = await sendMessage(app, alice, group.id, {
      type: 'image',
      attachments: [file.id],
      content: 'the view',
    });
    expect(sent.attachments).toHaveLength(1);
    const event = await arrived;
    expect(event.content).toBe('the view');
    const [attachment] = event.attachments;
    expect(attachment).toMatchObject({
      id: file.id,
      kind: 'image',
      width: 800,
      height: 600,
      status: 'ready',
    });
    const got = await request(app, 'GET', attachment?.url as string);
    expect(got.status).toBe(200);
    expect(Buffer.compare(got.body, bytes)).toBe(0);

    expect((await getFile(app, bob, file.id)).statusCode).toBe(200);
    const redirect = await getFile(app, bob, file.id, '/content');
    expect(redirect.statusCode).toBe(302);
    expect((await getFile(app, outsider, file.id)).statusCode).toBe(404);
    expect((await getFile(app, outsider, file.id, '/content')).statusCode).toBe(404);

    const history = await app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${group.id}/messages`,
      headers: bob.headers,
    });
    const listed = (history.json().data as MessageView[]).find((m) => m.id === sent.id);
    expect(listed?.attachments.map((a) => a.id)).toEqual([file.id]);

    // The thumbnail: already in new_message when the job was quicker than the send, else in message_updated.
    const updated = await vi.waitFor(
      () => {
        const found = [event, ...updates].find((m) => m.id === sent.id && m.attachments[0]?.thumbnail_url);
        if (!found) throw new Error('no thumbnail_url yet');
        return found;
      },
      { timeout: 15_000, interval: 100 },
    );
    const thumb = await request(app, 'GET', updated.attachments[0]?.thumbnail_url as string);
    expect(thumb.status).toBe(200);
  });

  it('refuses bad attachments with clear codes and stores no message', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const group = await createGroup(app, alice, [bob]);
    const bobs = await uploadReady(app, bob, await png(10, 10));
    const pending = await ticket(app, alice, { size: 100 });
    const voiceAsImage = await uploadReady(app, alice, await png(11, 11));

    const cases: Array<[object, number, string]> = [
      [{ type: 'image', attachments: [bobs.id] }, 422, 'invalid_attachment'],
      [{ type: 'image', attachments: [pending.file.id] }, 422, 'invalid_attachment'],
      [{ type: 'voice', attachments: [voiceAsImage.id] }, 422, 'invalid_attachment'],
      [{ type: 'image', content: 'no files' }, 400, 'validation_error'],
      [{ content: 'text with files', attachments: [voiceAsImage.id] }, 400, 'validation_error'],
      [{ type: 'image', attachments: [] }, 400, 'validation_error'],
      [
        { type: 'file', attachments: Array.from({ length: 11 }, () => crypto.randomUUID()) },
        400,
        'validation_error',
      ],
    ];
    for (const [payload, status, code] of cases) {
      const res = await post(alice, group.id, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    const history = await app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${group.id}/messages`,
      headers: alice.headers,
    });
    expect((history.json().data as MessageView[]).filter((m) => m.type !== 'system')).toEqual([]);
    // The refused files are still unattached: bob's stays his only.
    expect((await getFile(app, alice, bobs.id)).statusCode).toBe(404);
  });

  it('a file message with a caption-less document; forwarding shares the file with the target members', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const carol = await createUser(app);
    const source = await createGroup(app, alice, [bob]);
    const target = await createGroup(app, bob, [carol]);
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    const file = await uploadReady(app, alice, pdf, {
      name: 'plan.pdf',
      kind: 'file',
      content_type: 'application/pdf',
    });
    const sent = await sendMessage(app, alice, source.id, { type: 'file', attachments: [file.id] });
    expect(sent.content).toBeNull();
    expect((await getFile(app, carol, file.id)).statusCode).toBe(404);

    const forwarded = await sendMessage(app, bob, target.id, { forwarded_from_id: sent.id });
    expect(forwarded.type).toBe('file');
    expect(forwarded.attachments.map((a) => a.id)).toEqual([file.id]);
    const seen = await getFile(app, carol, file.id);
    expect(seen.statusCode).toBe(200);
    const got = await request(app, 'GET', seen.json().data.url);
    expect(Buffer.compare(got.body, pdf)).toBe(0);
  });

  it('deleting the last message that carries a file removes it from storage', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const group = await createGroup(app, alice, [bob]);
    const file = await uploadReady(app, alice, await png(16, 16));
    const sent = await sendMessage(app, alice, group.id, { type: 'image', attachments: [file.id] });
    expect(await objectExists(file.id)).toBe(true);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/messages/${sent.id}`,
      headers: alice.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.attachments).toEqual([]);
    await vi.waitFor(
      async () => {
        const row = await app.tma.db
          .selectFrom('files')
          .select('id')
          .where('id', '=', file.id)
          .executeTakeFirst();
        expect(row).toBeUndefined();
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await objectExists(file.id)).toBe(false);
    expect((await getFile(app, bob, file.id)).statusCode).toBe(404);
  });

  it('the sweep also removes files of messages deleted without the follow-up (crash after commit)', async () => {
    const alice = await createUser(app);
    const group = await createGroup(app, alice, []);
    const file = await uploadReady(app, alice, await png(15, 15));
    const sent = await sendMessage(app, alice, group.id, { type: 'image', attachments: [file.id] });
    // As if the process died between the delete's commit and its domain event.
    await app.tma.db
      .updateTable('messages')
      .set({ deleted_at: new Date() })
      .where('id', '=', sent.id)
      .execute();
    await app.tma.jobs.send(SWEEP_QUEUE, {});
    await vi.waitFor(
      async () => {
        const row = await app.tma.db
          .selectFrom('files')
          .select('id')
          .where('id', '=', file.id)
          .executeTakeFirst();
        expect(row).toBeUndefined();
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await objectExists(file.id)).toBe(false);
  });

  it('a member who left no longer sees the file', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const group = await createGroup(app, alice, [bob]);
    const file = await uploadReady(app, alice, await png(18, 18));
    await sendMessage(app, alice, group.id, { type: 'image', attachments: [file.id] });
    expect((await getFile(app, bob, file.id)).statusCode).toBe(200);
    const left = await app.inject({
      method: 'DELETE',
      url: `/api/v1/conversations/${group.id}/members/${bob.user.id}`,
      headers: bob.headers,
    });
    expect(left.statusCode).toBeLessThan(300);
    expect((await getFile(app, bob, file.id)).statusCode).toBe(404);
  });
});
