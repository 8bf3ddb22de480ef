// Retention policies: messages, catch-up events and files older than the settings are removed by the hourly
// maintenance run; nothing is removed while a policy is unset.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/db/ids.js';
import { Retention } from '../../../src/modules/admin/retention.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';

let app: FastifyInstance;
let admin: TestUser;
const OLD = new Date(Date.now() - 40 * 86_400_000);

beforeAll(async () => {
  app = await buildTestApp();
  admin = await createUser(app, { role: 'admin' });
});
afterAll(async () => {
  await app.close();
});

async function seed() {
  const alice = await createUser(app);
  const group = await createGroup(app, alice);
  const old1 = await sendMessage(app, alice, group.id, 'old one');
  const old2 = await sendMessage(app, alice, group.id, 'old two');
  await sendMessage(app, alice, group.id, 'recent');
  const { db } = app.tma;
  await db.updateTable('messages').set({ created_at: OLD }).where('id', 'in', [old1.id, old2.id]).execute();
  await db
    .updateTable('conversation_events')
    .set({ created_at: OLD })
    .where('conversation_id', '=', group.id)
    .where('message_id', 'in', [old1.id, old2.id])
    .execute();
  const fileId = newId();
  await db
    .insertInto('files')
    .values({
      id: fileId,
      uploader_id: alice.user.id,
      storage_key: fileId,
      filename: 'old.txt',
      mime_type: 'text/plain',
      size_bytes: 3,
      status: 'ready',
      created_at: OLD,
    })
    .execute();
  return { alice, group, fileId };
}

describe('retention', () => {
  it('keeps everything while message and file retention are unset', async () => {
    const { group, fileId } = await seed();
    const result = await new Retention(app.tma.db, app.tma.config).run();
    expect(result.messages).toBe(0);
    expect(result.files).toBe(0);
    const messages = await app.tma.db
      .selectFrom('messages')
      .select('id')
      .where('conversation_id', '=', group.id)
      .execute();
    expect(messages).toHaveLength(3);
    const file = await app.tma.db
      .selectFrom('files')
      .select('delete_after')
      .where('id', '=', fileId)
      .executeTakeFirstOrThrow();
    expect(file.delete_after).toBeNull();
  });

  it('applies the policies an admin sets: old messages, events and files go, recent ones stay', async () => {
    const { alice, group, fileId } = await seed();
    const set = await app.inject({
      method: 'PUT',
      url: '/api/v1/admin/settings/retention',
      headers: admin.headers,
      payload: { message_days: 30, event_days: 30, file_days: 30 },
    });
    expect(set.statusCode).toBe(200);
    const result = await new Retention(app.tma.db, app.tma.config).run();
    expect(result.messages).toBeGreaterThanOrEqual(2);
    expect(result.events).toBeGreaterThanOrEqual(2);
    expect(result.files).toBeGreaterThanOrEqual(1);
    const list = await app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${group.id}/messages`,
      headers: alice.headers,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((m: { content: string }) => m.content)).toEqual(['recent']);
    const file = await app.tma.db
      .selectFrom('files')
      .select('delete_after')
      .where('id', '=', fileId)
      .executeTakeFirstOrThrow();
    expect(file.delete_after).not.toBeNull();
  });
});
