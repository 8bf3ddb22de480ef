// Conversation endpoints: list, create (DM get-or-create), get, update, members, leave, mute.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import {
  AddMembersBody,
  ConversationParams,
  ConversationViewSchema,
  CreateConversationBody,
  ListConversationsQuery,
  MemberParams,
  MuteBody,
  MuteViewSchema,
  UpdateConversationBody,
  UpdateMemberBody,
} from './conversations.schemas.js';

const TAGS = ['conversations'];
const One = Envelope(ConversationViewSchema);

export async function conversationsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.conversations;
  const members = ctx.services.conversationMembers;

  app.get<{ Querystring: Static<typeof ListConversationsQuery> }>(
    '/conversations',
    {
      schema: {
        tags: TAGS,
        summary: "The caller's conversations by last activity, with last message, unread count and members",
        querystring: ListConversationsQuery,
        response: { 200: ListEnvelope(ConversationViewSchema), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.list(actorOf(request), {
        limit: request.query.limit ?? 50,
        cursor: request.query.cursor,
      });
      return page(items, nextCursor);
    },
  );

  app.post<{ Body: Static<typeof CreateConversationBody> }>(
    '/conversations',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a group, or get-or-create the DM with one other user (201 new, 200 existing DM)',
        body: CreateConversationBody,
        response: { 200: One, 201: One, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { conversation, created } = await service.create(actorOf(request), request.body);
      return reply.status(created ? 201 : 200).send(ok(conversation));
    },
  );

  app.get<{ Params: Static<typeof ConversationParams> }>(
    '/conversations/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One conversation of the caller',
        params: ConversationParams,
        response: { 200: One, ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await service.get(actorOf(request), request.params.id)),
  );

  app.patch<{ Params: Static<typeof ConversationParams>; Body: Static<typeof UpdateConversationBody> }>(
    '/conversations/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Rename a group or change its avatar/description (group admins)',
        params: ConversationParams,
        body: UpdateConversationBody,
        response: { 200: One, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => ok(await service.update(actorOf(request), request.params.id, request.body)),
  );

  app.post<{ Params: Static<typeof ConversationParams>; Body: Static<typeof AddMembersBody> }>(
    '/conversations/:id/members',
    {
      schema: {
        tags: TAGS,
        summary: 'Add members to a group (group admins); people who left come back',
        params: ConversationParams,
        body: AddMembersBody,
        response: { 200: One, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) =>
      ok(await members.addMembers(actorOf(request), request.params.id, request.body.member_ids)),
  );

  app.patch<{ Params: Static<typeof MemberParams>; Body: Static<typeof UpdateMemberBody> }>(
    '/conversations/:id/members/:user_id',
    {
      schema: {
        tags: TAGS,
        summary: "Change a member's role (group admins)",
        params: MemberParams,
        body: UpdateMemberBody,
        response: { 200: One, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) =>
      ok(
        await members.updateMember(
          actorOf(request),
          request.params.id,
          request.params.user_id,
          request.body.role,
        ),
      ),
  );

  app.delete<{ Params: Static<typeof MemberParams> }>(
    '/conversations/:id/members/:user_id',
    {
      schema: {
        tags: TAGS,
        summary: 'Remove a member (group admins), or leave when user_id is the caller',
        params: MemberParams,
        response: {
          200: Envelope(Type.Object({ conversation_id: Type.String(), user_id: Type.String() })),
          ...errors(400, 401, 403, 404, 422),
        },
      },
    },
    async (request) => {
      await members.removeMember(actorOf(request), request.params.id, request.params.user_id);
      return ok({ conversation_id: request.params.id, user_id: request.params.user_id });
    },
  );

  app.put<{ Params: Static<typeof ConversationParams>; Body: Static<typeof MuteBody> }>(
    '/conversations/:id/mute',
    {
      schema: {
        tags: TAGS,
        summary: 'Mute until a time, forever ({forever: true}), or unmute ({muted_until: null})',
        params: ConversationParams,
        body: MuteBody,
        response: { 200: Envelope(MuteViewSchema), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await members.mute(actorOf(request), request.params.id, request.body)),
  );
}
