// The access service: who is a current member, who may write, who administers, and who counts as a contact.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/db/ids.js';
import { AccessService } from '../../../src/modules/access/access.service.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let access: AccessService;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  access = app.tma.services.access;
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
});
afterAll(async () => {
  await app.close();
});

const block = (blocker: TestUser, blocked: TestUser) =>
  app.tma.db
    .insertInto('user_blocks')
    .values({ blocker_id: blocker.user.id, blocked_id: blocked.user.id })
    .execute();
const befriend = (a: TestUser, b: TestUser) =>
  app.tma.db
    .insertInto('friendships')
    .values({ id: newId(), requester_id: a.user.id, receiver_id: b.user.id, status: 'accepted' })
    .execute();
const refusal = (status: number, code: string) => expect.objectContaining({ status, code });
async function leave(user: TestUser, conversationId: string) {
  const res = await call(app, user, 'DELETE', `/conversations/${conversationId}/members/${user.user.id}`);
  expect(res.statusCode).toBe(200);
}

describe('requireMember', () => {
  it('returns the membership it checked: the conversation, the member row, and no DM peer in a group', async () => {
    const group = await createGroup(app, alice, [bob]);
    const found = await access.requireMember(bob.user.id, group.id);
    expect(found.conversation).toMatchObject({ id: group.id, type: 'group', last_seq: 0 });
    expect(found.member).toMatchObject({ conversation_id: group.id, user_id: bob.user.id, role: 'member' });
    expect(found).toMatchObject({ peerId: null, dmBlocked: false });
  });

  it('gives the other member of a DM with the membership', async () => {
    const dm = await createDm(app, alice, bob);
    const found = await access.requireMember(alice.user.id, dm.id);
    expect(found).toMatchObject({ conversation: { type: 'dm' }, peerId: bob.user.id, dmBlocked: false });
  });

  it('refuses a member who left, a non-member and an unknown conversation with 404 not_found', async () => {
    const group = await createGroup(app, alice, [bob]);
    await leave(bob, group.id);
    await expect(access.requireMember(bob.user.id, group.id)).rejects.toEqual(refusal(404, 'not_found'));
    await expect(access.requireMember(carol.user.id, group.id)).rejects.toEqual(refusal(404, 'not_found'));
    await expect(access.requireMember(alice.user.id, randomUUID())).rejects.toEqual(
      refusal(404, 'not_found'),
    );
    expect(await access.conversationIds(bob.user.id)).not.toContain(group.id);
    expect(await access.conversationIds(alice.user.id)).toContain(group.id);
  });
});

describe('requireVisibleMessage', () => {
  it('returns the message with the membership to members, 404 not_found to those who left and to outsiders', async () => {
    const group = await createGroup(app, alice, [bob, carol]);
    const sent = await sendMessage(app, alice, group.id, 'hello');
    const found = await access.requireVisibleMessage(bob.user.id, sent.id);
    expect(found.message).toMatchObject({
      id: sent.id,
      seq: sent.seq,
      content: 'hello',
      sender_id: alice.user.id,
    });
    expect(found.member.user_id).toBe(bob.user.id);
    await leave(carol, group.id);
    const outsider = await createUser(app);
    for (const user of [carol, outsider]) {
      await expect(access.requireVisibleMessage(user.user.id, sent.id)).rejects.toEqual(
        refusal(404, 'not_found'),
      );
    }
    await expect(access.requireVisibleMessage(bob.user.id, randomUUID())).rejects.toEqual(
      refusal(404, 'not_found'),
    );
  });
});

describe('requireGroupAdmin', () => {
  it('passes the admin; 403 admin_required for a member, 422 not_a_group in a DM, 404 for outsiders', async () => {
    const group = await createGroup(app, alice, [bob]);
    const dm = await createDm(app, alice, bob);
    expect((await access.requireGroupAdmin(alice.user.id, group.id)).member.role).toBe('admin');
    await expect(access.requireGroupAdmin(bob.user.id, group.id)).rejects.toEqual(
      refusal(403, 'admin_required'),
    );
    await expect(access.requireGroupAdmin(alice.user.id, dm.id)).rejects.toEqual(refusal(422, 'not_a_group'));
    await expect(access.requireGroupAdmin(carol.user.id, group.id)).rejects.toEqual(
      refusal(404, 'not_found'),
    );
  });
});

describe('requireAuthorOrGroupAdmin', () => {
  it('passes the author and a group admin; 403 for another member (in a DM too); 404 for outsiders', async () => {
    const group = await createGroup(app, alice, [bob, carol]);
    const byBob = await sendMessage(app, bob, group.id, 'mine');
    expect((await access.requireAuthorOrGroupAdmin(bob.user.id, byBob.id)).message.id).toBe(byBob.id);
    expect((await access.requireAuthorOrGroupAdmin(alice.user.id, byBob.id)).member.role).toBe('admin');
    await expect(access.requireAuthorOrGroupAdmin(carol.user.id, byBob.id)).rejects.toEqual(
      refusal(403, 'forbidden'),
    );
    await expect(
      access.requireAuthorOrGroupAdmin(carol.user.id, byBob.id, { message: 'No', code: 'not_allowed' }),
    ).rejects.toEqual(refusal(403, 'not_allowed'));
    const outsider = await createUser(app);
    await expect(access.requireAuthorOrGroupAdmin(outsider.user.id, byBob.id)).rejects.toEqual(
      refusal(404, 'not_found'),
    );
    const dm = await createDm(app, alice, carol);
    const byCarol = await sendMessage(app, carol, dm.id, 'dm');
    await expect(access.requireAuthorOrGroupAdmin(alice.user.id, byCarol.id)).rejects.toEqual(
      refusal(403, 'forbidden'),
    );
  });
});

describe('DM rules', () => {
  it('requireWritable refuses a DM blocked either way with 403 blocked; a group the two share stays writable', async () => {
    const [x, y, z] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
    const xy = await createDm(app, x, y);
    const xz = await createDm(app, x, z);
    const group = await createGroup(app, x, [y, z]);
    await block(x, y);
    await block(z, x);
    for (const [user, dm] of [
      [x, xy],
      [y, xy],
      [x, xz],
      [z, xz],
    ] as const) {
      await expect(access.requireWritable(user.user.id, dm.id)).rejects.toEqual(refusal(403, 'blocked'));
      expect((await access.requireMember(user.user.id, dm.id)).dmBlocked).toBe(true);
    }
    expect((await access.requireWritable(y.user.id, group.id)).dmBlocked).toBe(false);
    await expect(access.requireWritable(carol.user.id, xy.id)).rejects.toEqual(refusal(404, 'not_found'));
  });

  it('requireDmWritable: 403 blocked either way; with DM_REQUIRES_FRIENDSHIP only friends open a new DM', async () => {
    const [x, y, f] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
    const strict = new AccessService({ db: app.tma.db, config: { dmRequiresFriendship: true } });
    const open = { opening: true };
    await access.requireDmWritable(x.user.id, y.user.id, open);
    await expect(strict.requireDmWritable(x.user.id, y.user.id, open)).rejects.toEqual(
      refusal(403, 'friendship_required'),
    );
    // An existing DM stays usable without a friendship.
    await strict.requireDmWritable(x.user.id, y.user.id, { opening: false });
    await befriend(f, x);
    await strict.requireDmWritable(x.user.id, f.user.id, open);
    await block(y, x);
    for (const service of [access, strict]) {
      await expect(service.requireDmWritable(x.user.id, y.user.id, open)).rejects.toEqual(
        refusal(403, 'blocked'),
      );
      await expect(service.requireDmWritable(y.user.id, x.user.id, { opening: false })).rejects.toEqual(
        refusal(403, 'blocked'),
      );
    }
  });
});

describe('contacts', () => {
  it('are friends and current co-members, never across a block, never former co-members', async () => {
    const [me, friend, member, former, blocker, stranger] = await Promise.all(
      Array.from({ length: 6 }, () => createUser(app)),
    );
    await befriend(me, friend);
    const group = await createGroup(app, me, [member, former, blocker]);
    await leave(former, group.id);
    await block(blocker, me);
    expect((await access.contactIds(me.user.id)).sort()).toEqual([friend.user.id, member.user.id].sort());
    expect(await access.contactIds(blocker.user.id)).not.toContain(me.user.id);
    const among = await access.contactsAmong(me.user.id, [friend.user.id, stranger.user.id, former.user.id]);
    expect([...among]).toEqual([friend.user.id]);
  });
});

describe('files', () => {
  const file = async (uploader: TestUser, status: 'pending' | 'ready', kind: 'image' | 'file' = 'image') => {
    const id = newId();
    await app.tma.db
      .insertInto('files')
      .values({
        id,
        uploader_id: uploader.user.id,
        conversation_id: null,
        storage_key: id,
        filename: 'a.png',
        mime_type: 'image/png',
        size_bytes: 10,
        sha256: null,
        width: null,
        height: null,
        duration_ms: null,
        thumbnail_key: null,
        waveform: null,
        status,
        kind,
      })
      .execute();
    return app.tma.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  };
  const notFound = refusal(404, 'not_found');

  it('shows a file to its uploader, to members where a live message carries it, and to no one else', async () => {
    const [owner, member, stranger] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
    const group = await createGroup(app, owner, [member]);
    const pending = await file(owner, 'pending');
    expect(await access.requireVisibleFile(owner.user.id, pending)).toBe(pending);
    await expect(access.requireVisibleFile(member.user.id, pending)).rejects.toEqual(notFound);
    await expect(access.requireVisibleFile(owner.user.id, undefined)).rejects.toEqual(notFound);

    const shared = await file(owner, 'ready', 'file');
    const message = await sendMessage(app, owner, group.id, 'see attached');
    await app.tma.db
      .insertInto('message_attachments')
      .values({ message_id: message.id, file_id: shared.id, position: 0 })
      .execute();
    expect(await access.requireVisibleFile(member.user.id, shared)).toBe(shared);
    await expect(access.requireVisibleFile(stranger.user.id, shared)).rejects.toEqual(notFound);

    // A deleted message stops sharing it; so does leaving the group.
    await app.tma.db
      .updateTable('messages')
      .set({ deleted_at: new Date() })
      .where('id', '=', message.id)
      .execute();
    await expect(access.requireVisibleFile(member.user.id, shared)).rejects.toEqual(notFound);
  });

  it("shows a profile picture to anyone and a group's picture to its members only", async () => {
    const [owner, member, stranger] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
    const picture = await file(owner, 'ready');
    const groupPicture = await file(owner, 'ready');
    await expect(access.requireVisibleFile(stranger.user.id, picture)).rejects.toEqual(notFound);
    await app.tma.db
      .updateTable('users')
      .set({ avatar_url: `/api/v1/files/${picture.id}/content` })
      .where('id', '=', owner.user.id)
      .execute();
    expect(await access.requireVisibleFile(stranger.user.id, picture)).toBe(picture);

    const group = await createGroup(app, owner, [member]);
    await app.tma.db
      .updateTable('conversations')
      .set({ avatar_url: `/api/v1/files/${groupPicture.id}/content` })
      .where('id', '=', group.id)
      .execute();
    expect(await access.requireVisibleFile(member.user.id, groupPicture)).toBe(groupPicture);
    await expect(access.requireVisibleFile(stranger.user.id, groupPicture)).rejects.toEqual(notFound);
  });
});
