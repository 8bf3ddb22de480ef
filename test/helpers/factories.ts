// Factories: users with ready-to-use access tokens (local mode), straight into the database; groups, DMs and
// messages through the real API.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { expect } from 'vitest';
import { newId } from '../../src/db/ids.js';
import type { UserRow } from '../../src/db/schema.js';
import type { MessageView } from '../../src/events/domain-events.js';
import { AccessTokens } from '../../src/identity/access-tokens.js';
import type { ConversationView } from '../../src/modules/conversations/conversations.schemas.js';
import type { SendMessageBody as SendMessageBodySchema } from '../../src/modules/messages/messages.schemas.js';

export interface TestUser {
  user: UserRow;
  token: string;
  sessionId: string;
  /** `{ authorization: 'Bearer ...' }` for app.inject. */
  headers: { authorization: string };
}

let counter = 0;

export async function createUser(
  app: FastifyInstance,
  input: {
    username?: string;
    displayName?: string;
    role?: 'admin' | 'user';
    email?: string;
    settings?: Record<string, unknown>;
  } = {},
): Promise<TestUser> {
  counter++;
  const username = input.username ?? `user${counter}_${randomBytes(3).toString('hex')}`;
  const { db } = app.tma;
  const user = await app.tma.services.usersRepository.insert({
    id: newId(),
    username,
    display_name: input.displayName ?? `User ${username}`,
    email: input.email ?? `${username}@example.test`,
    role: input.role ?? 'user',
    settings: input.settings ?? {},
  });
  const sessionId = newId();
  await db
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: user.id,
      refresh_hash: randomBytes(16).toString('hex'),
      family_id: newId(),
      expires_at: new Date(Date.now() + 86_400_000),
    })
    .execute();
  const authenticator = app.tma.authenticator;
  if (!(authenticator instanceof AccessTokens)) throw new Error('createUser needs AUTH_MODE=local');
  const token = await authenticator.sign({ userId: user.id, sessionId, role: user.role });
  return { user, token, sessionId, headers: { authorization: `Bearer ${token}` } };
}

/** POST through the real API as `user`; asserts one of the `expected` statuses and answers `data`. */
async function post<T>(
  app: FastifyInstance,
  user: TestUser,
  url: string,
  payload: object,
  expected: readonly number[],
): Promise<T> {
  const res = await app.inject({ method: 'POST', url: `/api/v1${url}`, headers: user.headers, payload });
  expect(expected, `POST ${url} answered ${res.statusCode}: ${res.body}`).toContain(res.statusCode);
  return (res.json() as { data: T }).data;
}

/** A group created by `owner` (its admin) with `members`, through POST /conversations. */
export function createGroup(
  app: FastifyInstance,
  owner: TestUser,
  members: readonly TestUser[] = [],
  opts: { name?: string; description?: string } = {},
): Promise<ConversationView> {
  return post(
    app,
    owner,
    '/conversations',
    { type: 'group', member_ids: members.map((m) => m.user.id), ...opts, name: opts.name ?? 'Team' },
    [201],
  );
}

/** The DM between `a` and `b`, opened by `a` (201 when new, 200 when it already exists). */
export function createDm(app: FastifyInstance, a: TestUser, b: TestUser): Promise<ConversationView> {
  return post(app, a, '/conversations', { type: 'dm', member_ids: [b.user.id] }, [200, 201]);
}

export type SendMessageBody = Static<typeof SendMessageBodySchema>;

/** A message from `user`, through POST /conversations/:id/messages; `body` is the content or the whole body. */
export function sendMessage(
  app: FastifyInstance,
  user: TestUser,
  conversationId: string,
  body: string | SendMessageBody,
): Promise<MessageView> {
  const payload = typeof body === 'string' ? { content: body } : body;
  return post(app, user, `/conversations/${conversationId}/messages`, payload, [201]);
}
