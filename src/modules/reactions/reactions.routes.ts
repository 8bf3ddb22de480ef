// Reaction endpoints: PUT and DELETE /messages/{id}/reactions/{emoji} (the emoji URL-encoded).
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ok } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { MessageViewSchema } from '../messages/messages.schemas.js';

const ReactionParams = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    emoji: Type.String({ minLength: 1, maxLength: 32, description: 'One emoji, URL-encoded' }),
  },
  { additionalProperties: false },
);
type ReactionParams = Static<typeof ReactionParams>;

export async function reactionsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { reactions } = ctx.services;
  const schema = (operationId: string, summary: string) => ({
    tags: ['messages'],
    operationId,
    summary,
    description: 'The emoji goes in the path, URL-encoded. Members get the change in real time.',
    params: ReactionParams,
    response: { 200: Envelope(MessageViewSchema), ...errors(400, 401, 404, 422) },
  });

  app.put<{ Params: ReactionParams }>(
    '/messages/:id/reactions/:emoji',
    {
      schema: schema(
        'addReaction',
        'React with one emoji (idempotent); answers the message with its reactions',
      ),
    },
    async (request) => ok(await reactions.add(actorOf(request), request.params.id, request.params.emoji)),
  );

  app.delete<{ Params: ReactionParams }>(
    '/messages/:id/reactions/:emoji',
    {
      schema: schema(
        'removeReaction',
        'Take your reaction back (idempotent); answers the message with its reactions',
      ),
    },
    async (request) => ok(await reactions.remove(actorOf(request), request.params.id, request.params.emoji)),
  );
}
