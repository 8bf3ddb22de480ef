// Message endpoints: send and history per conversation, get/edit/delete one, receipts, read/delivered watermarks.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import {
  ConversationIdParams,
  EditMessageBody,
  HistoryQuery,
  MessageIdParams,
  MessageViewSchema,
  ReceiptSchema,
  SendMessageBody,
  WatermarkBody,
  WatermarksSchema,
} from './messages.schemas.js';

const TAGS = ['messages'];
const One = Envelope(MessageViewSchema);

export async function messagesRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { messages, receipts } = ctx.services;

  app.post<{ Params: Static<typeof ConversationIdParams>; Body: Static<typeof SendMessageBody> }>(
    '/conversations/:id/messages',
    {
      schema: {
        tags: TAGS,
        operationId: 'sendMessage',
        summary: 'Send a message (201); a retry with the same client_id returns the original (200)',
        description:
          'Text up to 10,000 characters after trimming; image, file and voice messages carry attachments (ready files of the sender). Sends are idempotent by client_id: a retry answers 200 with the original message. Members get new_message in real time.',
        params: ConversationIdParams,
        body: SendMessageBody,
        response: { 200: One, 201: One, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { message, created } = await messages.send(actorOf(request), request.params.id, request.body);
      return reply.status(created ? 201 : 200).send(ok(message));
    },
  );

  app.get<{ Params: Static<typeof ConversationIdParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/conversations/:id/messages',
    {
      schema: {
        tags: TAGS,
        operationId: 'listMessages',
        summary: 'History, newest first: before_seq pages back, after_seq pages forward',
        description:
          'Without a bound, the newest messages; before_seq pages back, after_seq forward, or follow `cursor`. `limit` defaults to 50 (at most 100).',
        params: ConversationIdParams,
        querystring: HistoryQuery,
        response: { 200: ListEnvelope(MessageViewSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await messages.history(
        actorOf(request),
        request.params.id,
        request.query,
      );
      return page(items, nextCursor);
    },
  );

  app.get<{ Params: Static<typeof MessageIdParams> }>(
    '/messages/:id',
    {
      schema: {
        tags: TAGS,
        operationId: 'getMessage',
        summary: 'One message',
        description: 'A deleted message is a tombstone (deleted_at set, content null).',
        params: MessageIdParams,
        response: { 200: One, ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await messages.get(actorOf(request), request.params.id)),
  );

  app.patch<{ Params: Static<typeof MessageIdParams>; Body: Static<typeof EditMessageBody> }>(
    '/messages/:id',
    {
      schema: {
        tags: TAGS,
        operationId: 'editMessage',
        summary: 'Edit your own message within EDIT_WINDOW',
        description:
          'Author only (403 not_author), within EDIT_WINDOW (403 edit_window_expired), not deleted (422 message_deleted); sets edited_at.',
        params: MessageIdParams,
        body: EditMessageBody,
        response: { 200: One, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => ok(await messages.edit(actorOf(request), request.params.id, request.body)),
  );

  app.delete<{ Params: Static<typeof MessageIdParams> }>(
    '/messages/:id',
    {
      schema: {
        tags: TAGS,
        operationId: 'deleteMessage',
        summary: 'Delete your own message, or any as a group admin: a tombstone keeps its place',
        description:
          'The message becomes a tombstone that keeps its seq in history: content null, deleted_at set.',
        params: MessageIdParams,
        response: { 200: One, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ok(await messages.delete(actorOf(request), request.params.id)),
  );

  app.get<{ Params: Static<typeof MessageIdParams> }>(
    '/messages/:id/receipts',
    {
      schema: {
        tags: TAGS,
        operationId: 'listReceipts',
        summary: 'Per member (sender excluded): sent, delivered or read, from the watermarks',
        description:
          "For each member but the sender: read when their read watermark reached the message's seq, delivered when their delivered watermark did, sent otherwise.",
        params: MessageIdParams,
        response: { 200: Envelope(Type.Array(ReceiptSchema)), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await receipts.forMessage(actorOf(request), request.params.id)),
  );

  for (const kind of ['read', 'delivered'] as const) {
    app.post<{ Params: Static<typeof ConversationIdParams>; Body: Static<typeof WatermarkBody> }>(
      `/conversations/:id/${kind}`,
      {
        schema: {
          tags: TAGS,
          operationId: kind === 'read' ? 'markRead' : 'markDelivered',
          summary:
            kind === 'read'
              ? 'Mark read up to seq (also delivered); watermarks never move back, seq is clamped to last_seq'
              : 'Mark delivered up to seq; watermarks never move back, seq is clamped to last_seq',
          description:
            'Answers both watermarks of the caller. Other members get the change in real time, which drives the receipts.',
          params: ConversationIdParams,
          body: WatermarkBody,
          response: { 200: Envelope(WatermarksSchema), ...errors(400, 401, 404) },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const result =
          kind === 'read'
            ? await receipts.markRead(actor, request.params.id, request.body.seq)
            : await receipts.markDelivered(actor, request.params.id, request.body.seq);
        return ok(result);
      },
    );
  }
}
