// Blocks endpoints: GET /blocks, PUT /blocks/{user_id}, DELETE /blocks/{user_id}.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, LimitQuery, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { BlockView, UnblockResult, UserIdParams } from './blocks.schemas.js';

export async function blocksRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.blocks;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/blocks',
    {
      schema: {
        tags: ['blocks'],
        operationId: 'listBlocks',
        summary: 'The people the caller blocked, newest first',
        description: 'Page with `cursor`; `limit` defaults to 50 (at most 100).',
        querystring: Type.Object(
          { limit: LimitQuery, cursor: Type.Optional(Type.String({ maxLength: 512 })) },
          { additionalProperties: false },
        ),
        response: { 200: ListEnvelope(BlockView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.list(
        actorOf(request),
        request.query.limit,
        request.query.cursor,
      );
      return page(items, nextCursor);
    },
  );

  app.put<{ Params: { user_id: string } }>(
    '/blocks/:user_id',
    {
      schema: {
        tags: ['blocks'],
        operationId: 'blockUser',
        summary: 'Block a user (idempotent); ends a friendship and pending requests between you',
        description:
          'Blocking again answers the same block. A block in either direction stops DMs and friend requests between the two.',
        params: UserIdParams,
        response: { 200: Envelope(BlockView), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await service.block(actorOf(request), request.params.user_id)),
  );

  app.delete<{ Params: { user_id: string } }>(
    '/blocks/:user_id',
    {
      schema: {
        tags: ['blocks'],
        operationId: 'unblockUser',
        summary: 'Unblock a user (idempotent)',
        description: 'Answers {user_id, blocked: false} whether or not there was a block.',
        params: UserIdParams,
        response: { 200: Envelope(UnblockResult), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await service.unblock(actorOf(request), request.params.user_id)),
  );
}
