// REST shortcuts for realtime tests: groups, messages, edits, members; each asserts the call succeeded.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import type { TestUser } from '../helpers/factories.js';

async function call<T>(
  app: FastifyInstance,
  user: TestUser,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  payload?: unknown,
): Promise<T> {
  const res = await app.inject({
    method,
    url: `/api/v1${url}`,
    headers: user.headers,
    payload: payload as object,
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return (res.json() as { data: T }).data;
}

export async function createGroup(
  app: FastifyInstance,
  owner: TestUser,
  members: TestUser[],
): Promise<string> {
  const conversation = await call<{ id: string }>(app, owner, 'POST', '/conversations', {
    type: 'group',
    name: 'Team',
    member_ids: members.map((m) => m.user.id),
  });
  return conversation.id;
}

export function sendRest(
  app: FastifyInstance,
  user: TestUser,
  conversationId: string,
  content: string,
): Promise<MessageView> {
  return call(app, user, 'POST', `/conversations/${conversationId}/messages`, {
    content,
    client_id: randomUUID(),
  });
}

export function editRest(app: FastifyInstance, user: TestUser, messageId: string, content: string) {
  return call<MessageView>(app, user, 'PATCH', `/messages/${messageId}`, { content });
}

export function deleteRest(app: FastifyInstance, user: TestUser, messageId: string) {
  return call<unknown>(app, user, 'DELETE', `/messages/${messageId}`);
}

export function addMembers(
  app: FastifyInstance,
  user: TestUser,
  conversationId: string,
  members: TestUser[],
) {
  return call<unknown>(app, user, 'POST', `/conversations/${conversationId}/members`, {
    member_ids: members.map((m) => m.user.id),
  });
}

export function removeMember(app: FastifyInstance, user: TestUser, conversationId: string, member: TestUser) {
  return call<unknown>(app, user, 'DELETE', `/conversations/${conversationId}/members/${member.user.id}`);
}

export function eventsAfter(app: FastifyInstance, user: TestUser, conversationId: string, afterSeq: number) {
  return call<
    Array<{ seq: number; type: string; message_id: string | null; payload: Record<string, unknown> }>
  >(app, user, 'GET', `/conversations/${conversationId}/events?after_seq=${afterSeq}&limit=100`);
}
