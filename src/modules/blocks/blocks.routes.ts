// Blocks endpoints: GET /blocks, PUT /blocks/{user_id}, DELETE /blocks/{user_id}.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, LimitQuery, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { BlockView, UnblockResult, UserIdParams } from './blocks.schemas.js';

export async function blocksRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.blocksService;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/blocks',
    {
      schema: {
        tags: ['blocks'],
        summary: 'The people the caller blocked, newest first',
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
        summary: 'Block a user (idempotent); ends a friendship and pending requests between you',
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
        summary: 'Unblock a user (idempotent)',
        params: UserIdParams,
        response: { 200: Envelope(UnblockResult), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await service.unblock(actorOf(request), request.params.user_id)),
  );
}
