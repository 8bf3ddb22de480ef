// Admin API: admins only on every route, user management, exports, retention, invites, the audit log.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';

let app: FastifyInstance;
let admin: TestUser;
let alice: TestUser;

const ZERO = '00000000-0000-4000-8000-000000000000';

function call(user: TestUser | undefined, method: string, url: string, payload?: unknown) {
  return app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers: user?.headers ?? {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

async function audit(action: string) {
  const res = await call(admin, 'GET', `/admin/audit?action=${action}&limit=100`);
  expect(res.statusCode).toBe(200);
  return res.json().data as Array<{
    actor_id: string | null;
    target_id: string | null;
    details: Record<string, unknown>;
  }>;
}

beforeAll(async () => {
  app = await buildTestApp();
  admin = await createUser(app, { role: 'admin' });
  alice = await createUser(app);
});
afterAll(async () => {
  await app.close();
});

/** Every admin route, with input that would be valid for an admin. */
const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/admin/users'],
  ['POST', `/admin/users/${ZERO}/deactivate`],
  ['POST', `/admin/users/${ZERO}/reactivate`],
  ['PUT', `/admin/users/${ZERO}/role`, { role: 'admin' }],
  ['POST', `/admin/users/${ZERO}/sessions/revoke`],
  ['GET', `/admin/users/${ZERO}/export`],
  ['GET', `/admin/conversations/${ZERO}/export`],
  ['GET', '/admin/settings/retention'],
  ['PUT', '/admin/settings/retention', { event_days: 30 }],
  ['POST', '/admin/invites', {}],
  ['GET', '/admin/invites'],
  ['DELETE', '/admin/invites/0123456789abcdef'],
  ['GET', '/admin/audit'],
];

describe('access', () => {
  it('answers 403 admin_required to a user and 401 without a token on every route', async () => {
    for (const [method, url, body] of ROUTES) {
      const res = await call(alice, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('admin_required');
      const anonymous = await call(undefined, method, url, body);
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('answers 403 to a user even for malformed input (the role is checked first)', async () => {
    const res = await call(alice, 'PUT', '/admin/users/not-a-uuid/role', { role: 'emperor' });
    expect(res.statusCode).toBe(403);
  });

  it('lets an admin reach every route (no 401/403)', async () => {
    for (const [method, url, body] of ROUTES) {
      const res = await call(admin, method, url, body);
      expect([200, 201, 404], `${method} ${url}: ${res.body}`).toContain(res.statusCode);
    }
  });

  it('refuses malformed input with 400', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['PUT', `/admin/users/${alice.user.id}/role`, { role: 'emperor' }],
      ['PUT', `/admin/users/${alice.user.id}/role`, {}],
      ['POST', '/admin/users/not-a-uuid/deactivate'],
      ['GET', '/admin/users?limit=0'],
      ['GET', '/admin/users?status=sleeping'],
      ['PUT', '/admin/settings/retention', {}],
      ['PUT', '/admin/settings/retention', { message_days: 0 }],
      ['PUT', '/admin/settings/retention', { event_days: null }],
      ['POST', '/admin/invites', { max_uses: 0 }],
      ['GET', '/admin/audit?action=DROP%20TABLE'],
      ['DELETE', '/admin/invites/zzz'],
    ];
    for (const [method, url, body] of cases) {
      const res = await call(admin, method, url, body);
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
  });
});

describe('users', () => {
  it('lists users, filters and pages', async () => {
    const bob = await createUser(app, { username: `bobadmin${Date.now() % 100000}` });
    const found = await call(admin, 'GET', `/admin/users?q=${bob.user.username}`);
    expect(found.json().data.map((u: { id: string }) => u.id)).toEqual([bob.user.id]);
    const admins = await call(admin, 'GET', '/admin/users?role=admin');
    expect(admins.json().data.every((u: { role: string }) => u.role === 'admin')).toBe(true);
    const first = await call(admin, 'GET', '/admin/users?limit=1');
    expect(first.json().pagination.has_more).toBe(true);
    const second = await call(
      admin,
      'GET',
      `/admin/users?limit=1&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(second.json().data[0].id).not.toBe(first.json().data[0].id);
  });

  it('deactivates (tokens refused at once) and reactivates, with audit entries', async () => {
    const carol = await createUser(app);
    expect((await call(carol, 'GET', '/users/me')).statusCode).toBe(200);
    const off = await call(admin, 'POST', `/admin/users/${carol.user.id}/deactivate`);
    expect(off.statusCode).toBe(200);
    expect(off.json().data.deactivated_at).not.toBeNull();
    const refused = await call(carol, 'GET', '/users/me');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('user_deactivated');
    const on = await call(admin, 'POST', `/admin/users/${carol.user.id}/reactivate`);
    expect(on.json().data.deactivated_at).toBeNull();
    expect(
      (await audit('user.deactivate')).some(
        (e) => e.target_id === carol.user.id && e.actor_id === admin.user.id,
      ),
    ).toBe(true);
    expect((await audit('user.reactivate')).some((e) => e.target_id === carol.user.id)).toBe(true);
  });

  it('changes a role, logging the user out; refuses changing oneself', async () => {
    const dave = await createUser(app);
    const res = await call(admin, 'PUT', `/admin/users/${dave.user.id}/role`, { role: 'admin' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.role).toBe('admin');
    expect((await call(dave, 'GET', '/users/me')).json().error.code).toBe('session_revoked');
    const entries = await audit('user.role');
    expect(entries.find((e) => e.target_id === dave.user.id)?.details).toEqual({ from: 'user', to: 'admin' });
    const self = await call(admin, 'PUT', `/admin/users/${admin.user.id}/role`, { role: 'user' });
    expect(self.statusCode).toBe(409);
    expect(self.json().error.code).toBe('cannot_modify_self');
    expect((await call(admin, 'POST', `/admin/users/${admin.user.id}/deactivate`)).statusCode).toBe(409);
  });

  it('revokes every session of a user', async () => {
    const erin = await createUser(app);
    const res = await call(admin, 'POST', `/admin/users/${erin.user.id}/sessions/revoke`);
    expect(res.json().data).toEqual({ revoked: 1 });
    expect((await call(erin, 'GET', '/users/me')).json().error.code).toBe('session_revoked');
    expect((await audit('user.sessions_revoke')).some((e) => e.target_id === erin.user.id)).toBe(true);
  });

  it('answers 404 for an unknown user', async () => {
    const res = await call(admin, 'POST', `/admin/users/${ZERO}/deactivate`);
    expect(res.statusCode).toBe(404);
  });
});

describe('exports', () => {
  it('exports a conversation with members, messages and events', async () => {
    const frank = await createUser(app);
    const group = await createGroup(app, frank, [alice]);
    await sendMessage(app, frank, group.id, 'hello export');
    const res = await call(admin, 'GET', `/admin/conversations/${group.id}/export`);
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.conversation.id).toBe(group.id);
    expect(data.members).toHaveLength(2);
    expect(data.messages.map((m: { content: string }) => m.content)).toContain('hello export');
    expect(data.events.length).toBeGreaterThan(0);
    expect((await audit('conversation.export')).some((e) => e.target_id === group.id)).toBe(true);
  });

  it('exports everything about one user', async () => {
    const gina = await createUser(app);
    const group = await createGroup(app, gina);
    await sendMessage(app, gina, group.id, 'mine');
    const res = await call(admin, 'GET', `/admin/users/${gina.user.id}/export`);
    const data = res.json().data;
    expect(data.user.id).toBe(gina.user.id);
    expect(data.messages.map((m: { content: string }) => m.content)).toEqual(['mine']);
    expect(data.memberships).toHaveLength(1);
    expect(data.sessions).toHaveLength(1);
    expect(JSON.stringify(data)).not.toContain('refresh_hash');
    expect(JSON.stringify(data)).not.toContain('password');
  });
});

describe('retention settings', () => {
  it('answers the defaults, stores changes and audits them', async () => {
    const before = await call(admin, 'GET', '/admin/settings/retention');
    expect(before.json().data).toEqual({ message_days: null, event_days: 30, file_days: null });
    const res = await call(admin, 'PUT', '/admin/settings/retention', { message_days: 365, file_days: 90 });
    expect(res.json().data).toEqual({ message_days: 365, event_days: 30, file_days: 90 });
    const cleared = await call(admin, 'PUT', '/admin/settings/retention', { file_days: null });
    expect(cleared.json().data).toEqual({ message_days: 365, event_days: 30, file_days: null });
    const entries = await audit('settings.retention');
    expect(entries[0]?.details.after).toEqual({ message_days: 365, event_days: 30, file_days: null });
  });
});

describe('audit log', () => {
  it('pages newest first', async () => {
    const first = await call(admin, 'GET', '/admin/audit?limit=2');
    expect(first.json().data).toHaveLength(2);
    const [a, b] = first.json().data;
    expect(a.id > b.id).toBe(true);
    const next = await call(
      admin,
      'GET',
      `/admin/audit?limit=2&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(next.json().data[0].id < b.id).toBe(true);
  });
});
