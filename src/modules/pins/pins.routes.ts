// Pin endpoints: PUT and DELETE /messages/{id}/pin, GET /conversations/{id}/pins.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { PinStateView, PinView } from './pins.schemas.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
type IdParams = Static<typeof IdParams>;

export async function pinsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { pins } = ctx.services;
  const change = (operationId: string, summary: string, description: string) => ({
    tags: ['pins'],
    operationId,
    summary,
    description,
    params: IdParams,
    response: { 200: Envelope(PinStateView), ...errors(400, 401, 403, 404, 422) },
  });

  app.put<{ Params: IdParams }>(
    '/messages/:id/pin',
    {
      schema: change(
        'pinMessage',
        'Pin a message (group admins, or anyone in a DM); idempotent; at most 50 per conversation',
        'Answers the pin state of the message; pinning it again changes nothing.',
      ),
    },
    async (request) => ok(await pins.pin(actorOf(request), request.params.id)),
  );

  app.delete<{ Params: IdParams }>(
    '/messages/:id/pin',
    {
      schema: change(
        'unpinMessage',
        'Unpin a message (group admins, or anyone in a DM); idempotent',
        'Answers the pin state of the message; unpinning a message that is not pinned changes nothing.',
      ),
    },
    async (request) => ok(await pins.unpin(actorOf(request), request.params.id)),
  );

  app.get<{ Params: IdParams }>(
    '/conversations/:id/pins',
    {
      schema: {
        tags: ['pins'],
        operationId: 'listPins',
        summary: 'Pinned messages of a conversation, most recently pinned first (at most 50, one page)',
        description:
          'One page of at most 50 pins with their messages; pagination.next_cursor is always null.',
        params: IdParams,
        response: { 200: ListEnvelope(PinView), ...errors(400, 401, 404) },
      },
    },
    async (request) => page(await pins.list(actorOf(request), request.params.id), null),
  );
}
