// Call test helpers: /calls sockets per user, acked call events, REST reads of calls.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { CallView } from '../../../src/modules/calls/calls.schemas.js';
import type { TestUser } from '../../helpers/factories.js';
import { type AckResult, type ClientSocket, connectSocket, emitWithAck } from '../../helpers/sockets.js';

export type { CallView };

export interface CallEvent {
  call: CallView;
  user_id: string | null;
  from_user_id: string | null;
  reason?: string;
}

export function callsSocket(app: FastifyInstance, user: TestUser): Promise<ClientSocket> {
  return connectSocket(app, user.token, '/calls');
}

/** An acked call event that must succeed: answers its data. */
export async function ok<T = { call: CallView }>(
  socket: ClientSocket,
  event: string,
  payload: unknown,
): Promise<T> {
  const ack = await emitWithAck<T>(socket, event, payload);
  expect(ack, `${event} was refused: ${JSON.stringify(ack.error)}`).toMatchObject({ ok: true });
  return ack.data as T;
}

/** An acked call event that must be refused: answers its error code. */
export async function refused(
  socket: ClientSocket,
  event: string,
  payload?: unknown,
): Promise<string | undefined> {
  const ack: AckResult =
    payload === undefined ? await emitWithAck(socket, event) : await emitWithAck(socket, event, payload);
  expect(ack.ok, `${event} was accepted`).toBe(false);
  return ack.error?.code;
}

export async function startCall(
  socket: ClientSocket,
  conversationId: string,
  media: 'audio' | 'video' = 'audio',
): Promise<CallView> {
  return (await ok<{ call: CallView }>(socket, 'call_start', { conversation_id: conversationId, media }))
    .call;
}

export async function getCall(app: FastifyInstance, user: TestUser, id: string) {
  return app.inject({ method: 'GET', url: `/api/v1/calls/${id}`, headers: user.headers });
}

export async function history(app: FastifyInstance, user: TestUser, query = ''): Promise<CallView[]> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/calls${query}`, headers: user.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data;
}
