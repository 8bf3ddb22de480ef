// Search endpoints: GET /search/messages, /search/users and /search/conversations.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { errors, ListEnvelope, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { UserView } from '../users/users.schemas.js';
import { ConversationHit, MessageHit, MessageSearchQuery, NameSearchQuery } from './search.schemas.js';

export async function searchRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { search: searchService, users: usersService } = ctx.services;

  app.get<{ Querystring: MessageSearchQuery }>(
    '/search/messages',
    {
      schema: {
        tags: ['search'],
        operationId: 'searchMessages',
        summary: 'Full-text search in your conversations (messages since you joined), newest first',
        description:
          'Only conversations the caller is a member of, and only messages since they joined; filter by conversation, sender, type and time.',
        querystring: MessageSearchQuery,
        response: { 200: ListEnvelope(MessageHit), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await searchService.messagesFor(actorOf(request), request.query);
      return page(items, nextCursor);
    },
  );

  app.get<{ Querystring: NameSearchQuery }>(
    '/search/users',
    {
      schema: {
        tags: ['search'],
        operationId: 'searchUsers',
        summary: 'People by username and display name, best match first',
        description: 'The same directory search as GET /users; page with `cursor`.',
        querystring: NameSearchQuery,
        response: { 200: ListEnvelope(UserView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { q, limit, cursor } = request.query;
      const { items, nextCursor } = await usersService.search(actorOf(request), q, limit, cursor);
      return page(items, nextCursor);
    },
  );

  app.get<{ Querystring: NameSearchQuery }>(
    '/search/conversations',
    {
      schema: {
        tags: ['search'],
        operationId: 'searchConversations',
        summary: 'Your conversations by group name or DM partner name',
        description:
          "Groups match by name, DMs by the partner's username or display name; page with `cursor`.",
        querystring: NameSearchQuery,
        response: { 200: ListEnvelope(ConversationHit), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { q, limit, cursor } = request.query;
      const { items, nextCursor } = await searchService.conversationsFor(actorOf(request), q, limit, cursor);
      return page(items, nextCursor);
    },
  );
}
