// /channels/*: inboxes and their members (admins), the idempotent send, channel messages and external conversations.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf, requireAdmin } from '../../identity/actor.js';
import {
  ChannelMessageViewSchema,
  CreateInboxBody,
  ExternalConversationSchema,
  IdempotencyHeaders,
  InboxMemberParams,
  InboxMembersBody,
  InboxParams,
  InboxViewSchema,
  ListChannelMessagesQuery,
  ListExternalConversationsQuery,
  SendChannelMessageBody,
} from './channels.schemas.js';
import type { ChannelsService } from './channels.service.js';
import type { InboxMembersService } from './inbox-members.service.js';

const TAGS = ['channels'];

export async function channelsRoutes(
  app: FastifyInstance,
  service: ChannelsService,
  inboxMembers: InboxMembersService,
): Promise<void> {
  await app.register(async (admin) => inboxMemberRoutes(admin, inboxMembers));

  app.post<{ Body: Static<typeof CreateInboxBody> }>(
    '/channels/inboxes',
    {
      schema: {
        tags: TAGS,
        operationId: 'createInbox',
        summary: 'Create a team inbox (a phone number or an e-mail address) and who handles it (admins)',
        description:
          'Admins only (403 admin_required). sms and mms make a phone-number inbox (E.164); email an address. 409 inbox_exists for an address already used, 422 invalid_members for unknown or deactivated users.',
        body: CreateInboxBody,
        response: { 201: Envelope(InboxViewSchema), ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(ok(await service.createInbox(actorOf(request), request.body))),
  );

  app.get(
    '/channels/inboxes',
    {
      schema: {
        tags: TAGS,
        operationId: 'listInboxes',
        summary: 'Inboxes: every inbox for admins, the inboxes you handle for others',
        description: 'Each inbox with its channel (sms covers MMS), address, name and member ids.',
        response: { 200: Envelope(Type.Array(InboxViewSchema)), ...errors(401) },
      },
    },
    async (request) => ok(await service.listInboxes(actorOf(request))),
  );

  app.post<{ Body: Static<typeof SendChannelMessageBody>; Headers: Static<typeof IdempotencyHeaders> }>(
    '/channels/messages',
    {
      schema: {
        tags: TAGS,
        operationId: 'sendChannelMessage',
        summary: 'Send an SMS, MMS or e-mail from an inbox you handle (202, status queued)',
        description:
          'Idempotency-Key is required: a retry with the same key answers the first message (Idempotent-Replayed: true) and never sends twice; the same key with another body is 409 idempotency_key_reused. `from` is the inbox number/address (404 for an inbox you do not handle). SMS/MMS bodies: at most 1600 characters (segments counted). The message lands in the external conversation of (inbox, to). `attachments` are ids of your own completed uploads (422 invalid_attachment otherwise, as for messages): an SMS with files goes as MMS (media URLs signed for 15 minutes; images and the types MMS providers accept, else 422 attachment_type_unsupported; 5 MB together), an e-mail carries them as attachments (CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES together); 413 attachments_too_large over either cap. 422 recipient_opted_out after STOP, channel_unavailable without a provider; 429 over CHANNEL_SENDS_PER_MINUTE.',
        headers: IdempotencyHeaders,
        body: SendChannelMessageBody,
        response: {
          202: Envelope(ChannelMessageViewSchema),
          ...errors(400, 401, 404, 409, 413, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { message, replayed } = await service.send(
        actorOf(request),
        request.headers['idempotency-key'],
        request.body,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(202).send(ok(message));
    },
  );

  app.get<{ Querystring: Static<typeof ListChannelMessagesQuery> }>(
    '/channels/messages',
    {
      schema: {
        tags: TAGS,
        operationId: 'listChannelMessages',
        summary: "A conversation's channel messages, newest first, with their status history",
        description: 'Members of the conversation only (404 otherwise); filter by status.',
        querystring: ListChannelMessagesQuery,
        response: { 200: ListEnvelope(ChannelMessageViewSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.listMessages(actorOf(request), request.query);
      return page(items, nextCursor);
    },
  );

  app.get<{ Querystring: Static<typeof ListExternalConversationsQuery> }>(
    '/channels/conversations',
    {
      schema: {
        tags: TAGS,
        operationId: 'listExternalConversations',
        summary: 'External conversations you belong to, optionally with one participant (number or address)',
        description:
          'Newest first; `participant` is an E.164 number or an e-mail address (case-insensitive). Each carries its inbox and external_participants.',
        querystring: ListExternalConversationsQuery,
        response: { 200: ListEnvelope(ExternalConversationSchema), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.listConversations(actorOf(request), request.query);
      return page(items, nextCursor);
    },
  );
}

/** Admins only: 403 admin_required before the input is validated, as every admin endpoint. */
async function inboxMemberRoutes(app: FastifyInstance, inboxMembers: InboxMembersService): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === undefined) return;
    requireAdmin(request);
  });

  app.post<{ Params: Static<typeof InboxParams>; Body: Static<typeof InboxMembersBody> }>(
    '/channels/inboxes/:id/members',
    {
      schema: {
        tags: TAGS,
        operationId: 'addInboxMembers',
        summary: 'Add members to an inbox: they join every one of its existing conversations too (admins)',
        description:
          'Admins only (403 admin_required). Users already handling the inbox are kept as they are. In one transaction the new members join each external conversation of the inbox (member.added event, a system message, member_added in real time). 404 for an unknown inbox, 422 invalid_members for unknown or deactivated users.',
        params: InboxParams,
        body: InboxMembersBody,
        response: { 200: Envelope(InboxViewSchema), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) =>
      ok(await inboxMembers.add(actorOf(request), request.params.id, request.body.user_ids, request.ip)),
  );

  app.delete<{ Params: Static<typeof InboxMemberParams> }>(
    '/channels/inboxes/:id/members/:user_id',
    {
      schema: {
        tags: TAGS,
        operationId: 'removeInboxMember',
        summary: 'Take a member off an inbox and out of its conversations (admins)',
        description:
          'Admins only (403 admin_required). In one transaction the member leaves each external conversation of the inbox (member.removed event, a system message, member_removed in real time). 404 for an unknown inbox or a user who does not handle it, 422 last_inbox_member for its only member.',
        params: InboxMemberParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      await inboxMembers.remove(actorOf(request), request.params.id, request.params.user_id, request.ip);
      return reply.status(204).send();
    },
  );
}
