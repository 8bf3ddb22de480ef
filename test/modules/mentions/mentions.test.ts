// @mentions resolved at send and edit time into metadata.mentions; @all for group admins (configurable).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMentions } from '../../../src/modules/mentions/mentions.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let admin: TestUser;
let bob: TestUser;
let carol: TestUser;
let outsider: TestUser;
let group: { id: string };

beforeAll(async () => {
  app = await buildTestApp();
  admin = await createUser(app, { username: 'ann_admin' });
  bob = await createUser(app, { username: 'Bob.Smith' });
  carol = await createUser(app, { username: 'carol_c' });
  outsider = await createUser(app, { username: 'olga_out' });
  group = await createGroup(app, admin, [bob, carol]);
});
afterAll(async () => {
  await app.close();
});

describe('mentions', () => {
  it('resolves @username of members (any case, trailing punctuation) into metadata.mentions', async () => {
    const message = await sendMessage(
      app,
      admin,
      group.id,
      'Hi @bob.smith, and @CAROL_C. Ping @olga_out @nobody_here',
    );
    expect(message).toHaveProperty('id');
    const res = await call(app, bob, 'GET', `/messages/${message.id}`);
    expect(res.json().data.metadata.mentions).toEqual([bob.user.id, carol.user.id]);
  });

  it('leaves out the sender, e-mail addresses and messages without mentions', async () => {
    const self = await sendMessage(app, bob, group.id, 'note to @bob.smith; mail ann@example.com');
    expect((await call(app, bob, 'GET', `/messages/${self.id}`)).json().data.metadata).toEqual({});
    const plain = await sendMessage(app, bob, group.id, 'nothing here');
    expect((await call(app, bob, 'GET', `/messages/${plain.id}`)).json().data.metadata).toEqual({});
  });

  it('ignores mentions the client put in metadata when the text mentions someone', async () => {
    const message = await sendMessage(app, bob, group.id, {
      content: 'hey @carol_c',
      metadata: { mentions: [outsider.user.id], mention_all: true, topic: 'kept' },
    });
    const metadata = (await call(app, bob, 'GET', `/messages/${message.id}`)).json().data.metadata;
    expect(metadata).toEqual({ topic: 'kept', mentions: [carol.user.id] });
  });

  it('sets mention_all for @all from a group admin only', async () => {
    const fromAdmin = await sendMessage(app, admin, group.id, '@all meeting at 3');
    expect((await call(app, bob, 'GET', `/messages/${fromAdmin.id}`)).json().data.metadata).toEqual({
      mention_all: true,
    });
    const fromMember = await sendMessage(app, bob, group.id, '@all look');
    expect((await call(app, bob, 'GET', `/messages/${fromMember.id}`)).json().data.metadata).toEqual({});
  });

  it('ignores @all in a DM but resolves the partner', async () => {
    const dm = await createDm(app, bob, carol);
    const message = await sendMessage(app, bob, dm.id, '@all @carol_c hi');
    expect((await call(app, carol, 'GET', `/messages/${message.id}`)).json().data.metadata).toEqual({
      mentions: [carol.user.id],
    });
  });

  it('recomputes mentions on edit', async () => {
    const message = await sendMessage(app, admin, group.id, 'cc @bob.smith');
    const edited = await call(app, admin, 'PATCH', `/messages/${message.id}`, { content: 'cc @carol_c' });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().data.metadata.mentions).toEqual([carol.user.id]);
    const cleared = await call(app, admin, 'PATCH', `/messages/${message.id}`, { content: 'cc nobody' });
    expect(cleared.json().data.metadata).toEqual({});
  });

  it('lets every member use @all with MENTION_ALL=members', async () => {
    const open = await buildTestApp({ MENTION_ALL: 'members' });
    try {
      const [a, b] = await Promise.all([createUser(open), createUser(open)]);
      const room = await createGroup(open, a, [b]);
      const message = await sendMessage(open, b, room.id, 'hey @all');
      expect((await call(open, a, 'GET', `/messages/${message.id}`)).json().data.metadata).toEqual({
        mention_all: true,
      });
    } finally {
      await open.close();
    }
  });
});

describe('parseMentions', () => {
  it('finds usernames once each, lower-cased, and @all', () => {
    expect(parseMentions('@Ann @ann @bo @bob_1. x@y.z (@carol-) @all')).toEqual({
      usernames: ['ann', 'bob_1', 'carol'],
      all: true,
    });
    expect(parseMentions(null)).toEqual({ usernames: [], all: false });
  });
});
