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
  const members = ctx.services.members;

  app.get<{ Querystring: Static<typeof ListConversationsQuery> }>(
    '/conversations',
    {
      schema: {
        tags: TAGS,
        operationId: 'listConversations',
        summary: "The caller's conversations by last activity, with last message, unread count and members",
        description: 'Newest activity first; page with `cursor`. `limit` defaults to 50 (at most 100).',
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
        operationId: 'createConversation',
        summary: 'Create a group, or get-or-create the DM with one other user (201 new, 200 existing DM)',
        description:
          'A DM has exactly one other member and is unique per pair: asking again answers the existing one with 200. A group needs a name; unknown or deactivated users are 422 unknown_user. A block between the two stops a DM (403 blocked).',
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
        operationId: 'getConversation',
        summary: 'One conversation of the caller',
        description:
          'With members, watermarks, unread count and the last message; 404 for anyone who is not a member.',
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
        operationId: 'updateConversation',
        summary: 'Rename a group or change its avatar/description (group admins)',
        description: 'Group admins only (403 admin_required); a DM cannot be renamed (422 not_a_group).',
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
        operationId: 'addMembers',
        summary: 'Add members to a group (group admins); people who left come back',
        description:
          'Answers the conversation with its members; people who had left come back as members. Over MAX_GROUP_MEMBERS is 422 group_too_large.',
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
        operationId: 'updateMember',
        summary: "Change a member's role (group admins)",
        description: 'role is admin or member; demoting the only admin is refused (422 last_admin).',
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
        operationId: 'removeMember',
        summary: 'Remove a member (group admins), or leave when user_id is the caller',
        description:
          'Anyone may leave (user_id is the caller); only group admins remove others. When the last admin leaves, the longest-standing member becomes admin. A DM cannot be left (422 not_a_group).',
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
        operationId: 'muteConversation',
        summary: 'Mute until a time, forever ({forever: true}), or unmute ({muted_until: null})',
        description:
          'muted_until must be in the future (422 invalid_mute); forever is stored as 9999-12-31T23:59:59Z. Mute is personal.',
        params: ConversationParams,
        body: MuteBody,
        response: { 200: Envelope(MuteViewSchema), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await members.mute(actorOf(request), request.params.id, request.body)),
  );
}
