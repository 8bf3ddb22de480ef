// Users: GET /users/{id}, GET /users?q=, PATCH /users/me (profile, privacy, notifications, TMS mode).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/db/ids.js';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';

function patchMe(user: TestUser, payload: unknown) {
  return app.inject({
    method: 'PATCH',
    url: '/api/v1/users/me',
    headers: user.headers,
    payload: payload as object,
  });
}
function get(user: TestUser, url: string) {
  return app.inject({ method: 'GET', url, headers: user.headers });
}
async function shareGroup(...users: TestUser[]): Promise<void> {
  const id = newId();
  await app.tma.db
    .insertInto('conversations')
    .values({ id, type: 'group', name: 'g', created_by: users[0]?.user.id })
    .execute();
  await app.tma.db
    .insertInto('conversation_members')
    .values(users.map((u) => ({ conversation_id: id, user_id: u.user.id })))
    .execute();
}

describe('GET /users/{id}', () => {
  it('shows a user with the caller’s relation to them', async () => {
    const alice = await createUser(app, { displayName: 'Alice Liddell' });
    const bob = await createUser(app);
    const res = await get(bob, `/api/v1/users/${alice.user.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      id: alice.user.id,
      username: alice.user.username,
      display_name: 'Alice Liddell',
      avatar_url: null,
      position: null,
      role: 'user',
      created_at: alice.user.created_at.toISOString(),
      deactivated: false,
      last_seen_at: null,
      friendship: 'none',
      blocked: false,
    });
    expect(res.json().data.email).toBeUndefined();
  });

  it('reports friendship direction and the caller’s own blocks', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await app.inject({
      method: 'POST',
      url: '/api/v1/friends/requests',
      headers: alice.headers,
      payload: { user_id: bob.user.id },
    });
    expect((await get(alice, `/api/v1/users/${bob.user.id}`)).json().data.friendship).toBe('outgoing');
    expect((await get(bob, `/api/v1/users/${alice.user.id}`)).json().data.friendship).toBe('incoming');
    await app.inject({ method: 'PUT', url: `/api/v1/blocks/${bob.user.id}`, headers: alice.headers });
    const blocked = (await get(alice, `/api/v1/users/${bob.user.id}`)).json().data;
    expect(blocked).toMatchObject({ blocked: true, friendship: 'none' });
    expect((await get(bob, `/api/v1/users/${alice.user.id}`)).json().data.blocked).toBe(false);
  });

  it('shows deactivated users with deactivated: true', async () => {
    const alice = await createUser(app);
    const gone = await createUser(app);
    await app.tma.services.usersRepository.update(gone.user.id, { deactivated_at: new Date() });
    const res = await get(alice, `/api/v1/users/${gone.user.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data.deactivated).toBe(true);
  });

  it('shows last_seen_at according to the subject’s privacy', async () => {
    const seenAt = new Date('2026-01-02T03:04:05.000Z');
    const viewer = await createUser(app);
    const contact = await createUser(app);
    const cases = [
      { last_seen: 'everyone', stranger: true, contact: true },
      { last_seen: 'contacts', stranger: false, contact: true },
      { last_seen: 'nobody', stranger: false, contact: false },
    ] as const;
    for (const c of cases) {
      const subject = await createUser(app, { settings: { privacy: { last_seen: c.last_seen } } });
      await app.tma.services.usersRepository.update(subject.user.id, { last_seen_at: seenAt });
      await shareGroup(subject, contact);
      const expected = (visible: boolean) => (visible ? seenAt.toISOString() : null);
      expect((await get(viewer, `/api/v1/users/${subject.user.id}`)).json().data.last_seen_at).toBe(
        expected(c.stranger),
      );
      expect((await get(contact, `/api/v1/users/${subject.user.id}`)).json().data.last_seen_at).toBe(
        expected(c.contact),
      );
      expect((await get(subject, `/api/v1/users/${subject.user.id}`)).json().data.last_seen_at).toBe(
        expected(true),
      );
    }
  });

  it('answers 404 for an unknown user, 400 for a malformed id, 401 without a token', async () => {
    const alice = await createUser(app);
    const unknown = await get(alice, `/api/v1/users/${UNKNOWN_ID}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    const bad = await get(alice, '/api/v1/users/12345');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('id');
    expect((await app.inject({ method: 'GET', url: `/api/v1/users/${alice.user.id}` })).statusCode).toBe(401);
  });
});

describe('GET /users?q=', () => {
  it('ranks matches on username and display name, paginates, and hides blockers and deactivated users', async () => {
    const tag = `zq${Date.now().toString(36)}`;
    const viewer = await createUser(app);
    const exact = await createUser(app, { username: `${tag}`, displayName: 'Exact' });
    const prefixed = await createUser(app, { username: `${tag}_second`, displayName: 'Second' });
    const byName = await createUser(app, {
      username: `other_${Date.now().toString(36)}`,
      displayName: `Dr ${tag}`,
    });
    const blocker = await createUser(app, { username: `${tag}_blocker` });
    const gone = await createUser(app, { username: `${tag}_gone` });
    await app.inject({ method: 'PUT', url: `/api/v1/blocks/${viewer.user.id}`, headers: blocker.headers });
    await app.tma.services.usersRepository.update(gone.user.id, { deactivated_at: new Date() });

    const all = await get(viewer, `/api/v1/users?q=${tag.toUpperCase()}`);
    expect(all.statusCode).toBe(200);
    const ids = all.json().data.map((u: { id: string }) => u.id);
    expect(ids[0]).toBe(exact.user.id);
    expect(new Set(ids)).toEqual(new Set([exact.user.id, prefixed.user.id, byName.user.id]));
    expect(all.json().pagination).toEqual({ next_cursor: null, has_more: false });

    // Hiding is one way: the blocker still finds the person they blocked.
    const fromBlocker = await get(blocker, `/api/v1/users?q=${encodeURIComponent(viewer.user.username)}`);
    expect(fromBlocker.json().data.map((u: { id: string }) => u.id)).toContain(viewer.user.id);

    const first = await get(viewer, `/api/v1/users?q=${tag}&limit=2`);
    expect(first.json().data).toHaveLength(2);
    expect(first.json().pagination.has_more).toBe(true);
    const second = await get(
      viewer,
      `/api/v1/users?q=${tag}&limit=2&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(second.json().data).toHaveLength(1);
    expect(second.json().pagination.has_more).toBe(false);
    const paged = [...first.json().data, ...second.json().data].map((u: { id: string }) => u.id);
    expect(paged).toEqual(ids);
  });

  it('treats LIKE wildcards literally', async () => {
    const viewer = await createUser(app);
    const res = await get(viewer, `/api/v1/users?q=${encodeURIComponent('%_')}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([]);
  });

  it('answers 400 for a missing, blank, oversized or malformed query', async () => {
    const viewer = await createUser(app);
    for (const query of [
      '',
      'q=',
      'q=%20%20',
      `q=${'a'.repeat(101)}`,
      'q=a&limit=0',
      'q=a&limit=101',
      'q=a&cursor=junk',
      'q=a&x=1',
    ]) {
      const res = await get(viewer, `/api/v1/users?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
    const blank = await get(viewer, '/api/v1/users?q=%20');
    expect(blank.json().error.details.field).toBe('q');
  });
});

describe('GET /users/me', () => {
  it('answers the caller’s own view with email and settings', async () => {
    const alice = await createUser(app, { settings: { privacy: { online: false } } });
    const res = await get(alice, '/api/v1/users/me');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      id: alice.user.id,
      email: alice.user.email,
      settings: { privacy: { online: false, last_seen: 'everyone', read_receipts: true } },
    });
    expect((await app.inject({ method: 'GET', url: '/api/v1/users/me' })).statusCode).toBe(401);
  });
});

describe('PATCH /users/me', () => {
  it('updates profile fields, trims text, and publishes user.updated', async () => {
    const alice = await createUser(app);
    const events: DomainEventMap['user.updated'][] = [];
    const off = app.tma.bus.subscribe('user.updated', (e) => void events.push(e));
    const res = await patchMe(alice, {
      display_name: '  Alice L.  ',
      avatar_url: 'https://cdn.example.com/a.png',
      position: ' Engineer ',
    });
    off();
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      id: alice.user.id,
      display_name: 'Alice L.',
      avatar_url: 'https://cdn.example.com/a.png',
      position: 'Engineer',
      email: alice.user.email,
      settings: {
        privacy: { last_seen: 'everyone', online: true, read_receipts: true },
        notifications: { enabled: true, sound: true, preview: true, mentions_only: false },
      },
    });
    expect(events).toEqual([{ user_id: alice.user.id }]);
    const cleared = await patchMe(alice, { avatar_url: null, position: null });
    expect(cleared.json().data).toMatchObject({ avatar_url: null, position: null, display_name: 'Alice L.' });
  });

  it('merges partial privacy and notification settings', async () => {
    const alice = await createUser(app);
    await patchMe(alice, { privacy: { last_seen: 'contacts' } });
    await patchMe(alice, { privacy: { read_receipts: false }, notifications: { sound: false } });
    const res = await patchMe(alice, { notifications: { mentions_only: true } });
    expect(res.json().data.settings).toEqual({
      privacy: { last_seen: 'contacts', online: true, read_receipts: false },
      notifications: {
        enabled: true,
        sound: false,
        preview: true,
        mentions_only: true,
        mentions_override_mute: true,
        quiet_hours: null,
        email_digest: true,
      },
    });
    const row = await app.tma.services.usersRepository.findById(alice.user.id);
    expect(row?.settings).toEqual({
      privacy: { last_seen: 'contacts', read_receipts: false },
      notifications: { sound: false, mentions_only: true },
    });
  });

  it('keeps concurrent partial updates of different settings', async () => {
    const alice = await createUser(app);
    await Promise.all([
      patchMe(alice, { privacy: { online: false } }),
      patchMe(alice, { privacy: { last_seen: 'nobody' } }),
      patchMe(alice, { notifications: { preview: false } }),
    ]);
    const row = await app.tma.services.usersRepository.findById(alice.user.id);
    expect(row?.settings).toEqual({
      privacy: { online: false, last_seen: 'nobody' },
      notifications: { preview: false },
    });
  });

  it('answers 400 naming the field for bad input', async () => {
    const alice = await createUser(app);
    const cases: Array<[unknown, string]> = [
      [{ display_name: '' }, 'display_name'],
      [{ display_name: '   ' }, 'display_name'],
      [{ display_name: 'x'.repeat(101) }, 'display_name'],
      [{ avatar_url: 'ftp://example.com/a.png' }, 'avatar_url'],
      [{ avatar_url: 'javascript:alert(1)' }, 'avatar_url'],
      [{ avatar_url: 'https://user:pw@example.com/a.png' }, 'avatar_url'],
      [{ avatar_url: `https://example.com/${'a'.repeat(2048)}` }, 'avatar_url'],
      [{ position: 'x'.repeat(101) }, 'position'],
      [{ privacy: { last_seen: 'friends' } }, 'privacy.last_seen'],
      [{ privacy: { online: 'yes' } }, 'privacy.online'],
      [{ privacy: { colour: 'red' } }, 'privacy.colour'],
      [{ notifications: { enabled: 1 } }, 'notifications.enabled'],
      [{ username: 'new' }, 'username'],
      [{ role: 'admin' }, 'role'],
    ];
    for (const [body, field] of cases) {
      const res = await patchMe(alice, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
      expect(res.json().error.details.field, JSON.stringify(body)).toBe(field);
    }
    const row = await app.tma.services.usersRepository.findById(alice.user.id);
    expect(row?.display_name).toBe(alice.user.display_name);
    expect(row?.role).toBe('user');
  });

  it('answers 400 for a non-JSON body and 401 without a token', async () => {
    const alice = await createUser(app);
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '[1,',
    });
    expect(res.statusCode).toBe(400);
    const anon = await app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      payload: { display_name: 'x' },
    });
    expect(anon.statusCode).toBe(401);
  });
});

describe('PATCH /users/me with AUTH_MODE=tms', () => {
  it('refuses profile fields with 422 managed_by_tms but still saves settings', async () => {
    const tmsApp = await buildTestApp();
    try {
      const alice = await createUser(tmsApp);
      // Profile ownership is decided per request from the configured mode.
      tmsApp.tma.config.authMode = 'tms';
      const refused = await tmsApp.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: alice.headers,
        payload: { display_name: 'Mine', privacy: { online: false } },
      });
      expect(refused.statusCode).toBe(422);
      expect(refused.json().error).toMatchObject({
        code: 'managed_by_tms',
        details: { fields: ['display_name'] },
      });
      const row = await tmsApp.tma.services.usersRepository.findById(alice.user.id);
      expect(row?.settings).toEqual({});
      const settings = await tmsApp.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: alice.headers,
        payload: { privacy: { online: false } },
      });
      expect(settings.statusCode).toBe(200);
      expect(settings.json().data.settings.privacy.online).toBe(false);
    } finally {
      await tmsApp.close();
    }
  });
});
