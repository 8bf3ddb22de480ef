// REGISTRATION=open|invite|closed, and the startup admin seed (TMA_ADMIN_USERNAME/TMA_ADMIN_PASSWORD).
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/factories.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const PASSWORD = 'correct horse battery staple';
const register = (a: FastifyInstance, body: Record<string, unknown>) =>
  a.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { password: PASSWORD, ...body } });
const login = (a: FastifyInstance, username: string, password = PASSWORD) =>
  a.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });

// Each test builds an app of its own configuration: generous timeouts for loaded CI machines.
describe('REGISTRATION', { timeout: 120_000 }, () => {
  it('open: anyone registers, as a user', async () => {
    app = await buildTestApp({ REGISTRATION: 'open' });
    const res = await register(app, { username: 'openuser' });
    expect(res.statusCode).toBe(201);
    expect(res.json().data.role).toBe('user');
  });

  it('closed: nobody registers (403 registration_closed)', async () => {
    app = await buildTestApp({ REGISTRATION: 'closed' });
    const res = await register(app, { username: 'closeduser' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('registration_closed');
  });

  it('invite: needs a live code, spends one use each, refuses revoked codes', async () => {
    app = await buildTestApp({ REGISTRATION: 'invite' });
    const admin = await createUser(app, { role: 'admin' });
    const none = await register(app, { username: 'nocode' });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('invite_required');
    const wrong = await register(app, { username: 'wrongcode', invite_code: 'nope' });
    expect(wrong.json().error.code).toBe('invite_invalid');

    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/invites',
      headers: admin.headers,
      payload: { max_uses: 2 },
    });
    expect(created.statusCode).toBe(201);
    const { code, id } = created.json().data;
    expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await register(app, { username: 'invited1', invite_code: code })).statusCode).toBe(201);
    expect((await register(app, { username: 'invited2', invite_code: code })).statusCode).toBe(201);
    const spent = await register(app, { username: 'invited3', invite_code: code });
    expect(spent.json().error.code).toBe('invite_invalid');

    const another = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/invites',
      headers: admin.headers,
    });
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/invites/${another.json().data.id}`,
      headers: admin.headers,
    });
    expect(revoke.statusCode).toBe(200);
    const revoked = await register(app, { username: 'invited4', invite_code: another.json().data.code });
    expect(revoked.json().error.code).toBe('invite_invalid');

    const list = await app.inject({ method: 'GET', url: '/api/v1/admin/invites', headers: admin.headers });
    const listed = list.json().data.find((i: { id: string }) => i.id === id);
    expect(listed).toMatchObject({ uses: 2, max_uses: 2, revoked: false });
    expect(listed).not.toHaveProperty('code');
  });

  it('rejects an unknown mode in the configuration', () => {
    expect(() => loadConfig({ REGISTRATION: 'maybe' })).toThrow(/REGISTRATION/);
  });
});

describe('bootstrap admin', { timeout: 120_000 }, () => {
  it('is created at startup, can log in, and is audited', async () => {
    app = await buildTestApp({ TMA_ADMIN_USERNAME: 'root', TMA_ADMIN_PASSWORD: 'seeded-admin-pass' });
    const res = await login(app, 'root', 'seeded-admin-pass');
    expect(res.statusCode).toBe(200);
    expect(res.json().data.user.role).toBe('admin');
    const token = res.json().data.access_token;
    const audit = await app.inject({
      method: 'GET',
      url: '/api/v1/admin/audit?action=admin.bootstrap',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(audit.json().data).toHaveLength(1);
    expect(audit.json().data[0].details).toMatchObject({
      username: 'root',
      result: 'created',
      source: 'environment',
    });
  });

  it('is idempotent: a second start changes nothing; an existing user is promoted, password kept', async () => {
    const { ensureAdmin } = await import('../../../src/modules/admin/bootstrap.js');
    app = await buildTestApp({ TMA_ADMIN_USERNAME: 'root', TMA_ADMIN_PASSWORD: 'seeded-admin-pass' });
    expect(
      (await ensureAdmin(app.tma.db, { username: 'root', password: 'other-password', source: 'environment' }))
        .result,
    ).toBe('unchanged');
    // The password of an existing account is not reset by the seed.
    expect((await login(app, 'root', 'seeded-admin-pass')).statusCode).toBe(200);
    expect((await register(app, { username: 'promoteme' })).statusCode).toBe(201);
    const promoted = await ensureAdmin(app.tma.db, {
      username: 'PromoteMe',
      password: 'ignored-pass',
      source: 'cli',
    });
    expect(promoted.result).toBe('promoted');
    const res = await login(app, 'promoteme');
    expect(res.json().data.user.role).toBe('admin');
    const users = await app.tma.db
      .selectFrom('users')
      .select('username')
      .where('role', '=', 'admin')
      .execute();
    expect(users.map((u) => u.username).sort()).toEqual(['promoteme', 'root']);
  });

  it('needs both variables, and a valid username and password', () => {
    expect(() => loadConfig({ TMA_ADMIN_USERNAME: 'root' })).toThrow(/set both or neither/);
    expect(() => loadConfig({ TMA_ADMIN_USERNAME: 'r', TMA_ADMIN_PASSWORD: 'long enough' })).toThrow(
      /TMA_ADMIN_USERNAME/,
    );
    expect(() => loadConfig({ TMA_ADMIN_USERNAME: 'root', TMA_ADMIN_PASSWORD: 'short' })).toThrow(
      /TMA_ADMIN_PASSWORD/,
    );
  });
});
