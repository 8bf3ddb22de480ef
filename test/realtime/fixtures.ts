// Realtime test fixtures: REST shortcuts (edits, deletes, members, events; each asserts the call succeeded) and
// views of the server side (presence work, sockets per user) to wait on.
import type { FastifyInstance } from 'fastify';
import { expect, vi } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { rooms } from '../../src/realtime/protocol.js';
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

/**
 * Follows the presence work `app` starts for each connection and disconnection (the store update, then the
 * announcement to contacts, if any), so a test can wait for it to finish before proving it announced nothing.
 * Returns `settled(kind, userId, count)`: resolves once `count` such calls for `userId` were made and their
 * work has finished. The spies go with `vi.restoreAllMocks()`.
 */
export function watchPresence(
  app: FastifyInstance,
): (kind: 'connected' | 'disconnected', userId: string, count?: number) => Promise<void> {
  const { presence } = app.realtime;
  const spies = {
    connected: vi.spyOn(presence, 'connected'),
    disconnected: vi.spyOn(presence, 'disconnected'),
  };
  return async (kind, userId, count = 1) => {
    const spy = spies[kind];
    const work = () =>
      spy.mock.calls.flatMap((args, i) => (args[0] === userId ? [spy.mock.results[i]?.value] : []));
    await vi.waitFor(() => expect(work().length).toBeGreaterThanOrEqual(count), {
      timeout: 5000,
      interval: 10,
    });
    await Promise.all(work());
  };
}

/** How many /messaging sockets of `user` this instance holds (its user room), as the server sees it. */
export function serverSockets(app: FastifyInstance, user: TestUser): number {
  return app.realtime.io.of('/messaging').adapter.rooms.get(rooms.user(user.user.id))?.size ?? 0;
}
