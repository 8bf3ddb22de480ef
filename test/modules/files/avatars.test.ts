// Avatars as files: a profile or a group points avatar_url at its own completed image upload, which then
// becomes readable by whoever sees the profile (anyone) or the group (its members), and is kept by the sweep.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SWEEP_QUEUE } from '../../../src/modules/files/files.jobs.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, type TestUser } from '../../helpers/factories.js';
import { getFile, png, ticket, uploadReady } from './files-helpers.js';
import { type StorageFixture, startStorage } from './storage-fixture.js';

const path = (id: string) => `/api/v1/files/${id}/content`;

describe('avatars kept as files', () => {
  let storage: StorageFixture;
  let app: FastifyInstance;

  beforeAll(async () => {
    storage = await startStorage('local');
    app = await buildTestApp(storage.env);
  });

  afterAll(async () => {
    await app?.close();
    await storage?.stop();
  });

  const patchMe = (user: TestUser, payload: object) =>
    app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: user.headers, payload });
  const patchGroup = (user: TestUser, id: string, payload: object) =>
    app.inject({ method: 'PATCH', url: `/api/v1/conversations/${id}`, headers: user.headers, payload });

  describe('PATCH /users/me with a file address', () => {
    it('sets it, and anyone signed in may then read the file and its thumbnail', async () => {
      const alice = await createUser(app);
      const stranger = await createUser(app);
      const file = await uploadReady(app, alice, await png(64, 64));
      expect((await getFile(app, stranger, file.id)).statusCode).toBe(404);

      const res = await patchMe(alice, { avatar_url: path(file.id) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().data.avatar_url).toBe(path(file.id));
      const profile = await app.inject({
        method: 'GET',
        url: `/api/v1/users/${alice.user.id}`,
        headers: stranger.headers,
      });
      expect(profile.json().data.avatar_url).toBe(path(file.id));

      const seen = await getFile(app, stranger, file.id);
      expect(seen.statusCode).toBe(200);
      expect(seen.json().data.url).toEqual(expect.any(String));
      expect((await getFile(app, stranger, file.id, '/content')).statusCode).toBe(302);
    });

    it('stops sharing the file once the avatar changes', async () => {
      const alice = await createUser(app);
      const bob = await createUser(app);
      const file = await uploadReady(app, alice, await png(32, 32));
      expect((await patchMe(alice, { avatar_url: path(file.id) })).statusCode).toBe(200);
      expect((await getFile(app, bob, file.id)).statusCode).toBe(200);
      expect((await patchMe(alice, { avatar_url: null })).statusCode).toBe(200);
      expect((await getFile(app, bob, file.id)).statusCode).toBe(404);
      expect((await getFile(app, alice, file.id)).statusCode).toBe(200);
    });

    it("refuses another user's file with 422 invalid_avatar, and does not share it", async () => {
      const alice = await createUser(app);
      const mallory = await createUser(app);
      const secret = await uploadReady(app, alice, await png(20, 20));
      const res = await patchMe(mallory, { avatar_url: path(secret.id) });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'invalid_avatar', details: { field: 'avatar_url' } });
      expect((await getFile(app, mallory, secret.id)).statusCode).toBe(404);
    });

    it('refuses a pending upload, a file that is not an image, and an unknown id with 422', async () => {
      const alice = await createUser(app);
      const pending = await ticket(app, alice, { size: 100 });
      const text = await uploadReady(app, alice, Buffer.from('hello, plain text\n'), {
        name: 'note.txt',
        content_type: 'text/plain',
        kind: 'file',
      });
      for (const id of [pending.file.id, text.id, '01890000-0000-7000-8000-000000000000']) {
        const res = await patchMe(alice, { avatar_url: path(id) });
        expect(res.statusCode, id).toBe(422);
        expect(res.json().error.code).toBe('invalid_avatar');
      }
    });

    it('refuses malformed and oversized addresses with 400', async () => {
      const alice = await createUser(app);
      const file = await uploadReady(app, alice, await png(16, 16));
      for (const avatar_url of [
        '/etc/passwd',
        `/api/v1/files/${file.id}/thumbnail`,
        `/api/v1/files/${file.id}/content?x=1`,
        `//evil.example/api/v1/files/${file.id}/content`,
        `https://example.com/${'a'.repeat(2100)}`,
        42,
      ]) {
        const res = await patchMe(alice, { avatar_url });
        expect(res.statusCode, String(avatar_url).slice(0, 60)).toBe(400);
        expect(res.json().error.code).toBe('validation_error');
      }
    });

    it('still takes an https address elsewhere', async () => {
      const alice = await createUser(app);
      const res = await patchMe(alice, { avatar_url: 'https://example.com/me.png' });
      expect(res.statusCode).toBe(200);
      expect(res.json().data.avatar_url).toBe('https://example.com/me.png');
    });
  });

  describe('group avatars', () => {
    it('an admin sets its own image; members read it, outsiders do not', async () => {
      const admin = await createUser(app);
      const member = await createUser(app);
      const outsider = await createUser(app);
      const group = await createGroup(app, admin, [member]);
      const file = await uploadReady(app, admin, await png(40, 40));
      const res = await patchGroup(admin, group.id, { avatar_url: path(file.id) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().data.avatar_url).toBe(path(file.id));
      expect((await getFile(app, member, file.id)).statusCode).toBe(200);
      expect((await getFile(app, outsider, file.id)).statusCode).toBe(404);
    });

    it("refuses another person's image, and a plain member's change", async () => {
      const admin = await createUser(app);
      const member = await createUser(app);
      const group = await createGroup(app, admin, [member]);
      const memberFile = await uploadReady(app, member, await png(24, 24));
      const theirs = await patchGroup(admin, group.id, { avatar_url: path(memberFile.id) });
      expect(theirs.statusCode).toBe(422);
      expect(theirs.json().error.code).toBe('invalid_avatar');
      const notAdmin = await patchGroup(member, group.id, { avatar_url: path(memberFile.id) });
      expect(notAdmin.statusCode).toBe(403);
      const malformed = await patchGroup(admin, group.id, { avatar_url: '/api/v1/files/nope/content' });
      expect(malformed.statusCode).toBe(400);
    });
  });

  it('the orphan sweep keeps files that are avatars and removes the unused ones', async () => {
    const alice = await createUser(app);
    const avatar = await uploadReady(app, alice, await png(18, 18));
    const unused = await uploadReady(app, alice, await png(19, 19));
    expect((await patchMe(alice, { avatar_url: path(avatar.id) })).statusCode).toBe(200);
    const { db } = app.tma;
    await db
      .updateTable('files')
      .set({ created_at: new Date(Date.now() - 25 * 3600_000) })
      .where('id', 'in', [avatar.id, unused.id])
      .execute();
    await app.tma.jobs.send(SWEEP_QUEUE, {});
    await vi.waitFor(
      async () => {
        const left = await db.selectFrom('files').select('id').where('id', '=', unused.id).execute();
        expect(left).toEqual([]);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect((await getFile(app, alice, avatar.id)).statusCode).toBe(200);
  });
});
