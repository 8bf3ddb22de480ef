// Shared helpers for the messaging suites: JSON calls as a user, groups, DMs and messages.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { TestUser } from '../../helpers/factories.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export function call(
  app: FastifyInstance,
  user: TestUser | null,
  method: Method,
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url: `/api/v1${url}`,
    headers: user ? user.headers : {},
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

export async function createGroup(
  app: FastifyInstance,
  owner: TestUser,
  members: TestUser[],
  name = 'Team',
): Promise<{ id: string; last_seq: number }> {
  const res = await call(app, owner, 'POST', '/conversations', {
    type: 'group',
    name,
    member_ids: members.map((m) => m.user.id),
  });
  if (res.statusCode !== 201) throw new Error(`createGroup failed: ${res.statusCode} ${res.body}`);
  return res.json().data;
}

export async function openDm(app: FastifyInstance, a: TestUser, b: TestUser): Promise<{ id: string }> {
  const res = await call(app, a, 'POST', '/conversations', { type: 'dm', member_ids: [b.user.id] });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`openDm failed: ${res.body}`);
  return res.json().data;
}

export interface SentMessage {
  id: string;
  seq: number;
  content: string | null;
  conversation_id: string;
}

export async function sendText(
  app: FastifyInstance,
  user: TestUser,
  conversationId: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<SentMessage> {
  const res = await call(app, user, 'POST', `/conversations/${conversationId}/messages`, {
    content,
    ...extra,
  });
  if (res.statusCode !== 201) throw new Error(`send failed: ${res.statusCode} ${res.body}`);
  return res.json().data;
}

/** How many SQL queries a request runs. */
export async function countQueries<T>(app: FastifyInstance, work: () => Promise<T>): Promise<number> {
  return app.tma.database.countQueries(work);
}
