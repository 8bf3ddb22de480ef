// Factories: users with ready-to-use access tokens (local mode), straight into the database.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { newId } from '../../src/db/ids.js';
import type { UserRow } from '../../src/db/schema.js';
import { AccessTokens } from '../../src/identity/access-tokens.js';

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
