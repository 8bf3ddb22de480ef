// POST /webhooks/tms: the raw body is kept for the signature, checked before the body schema.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Envelope, errors, ok } from '../http/envelope.js';
import type { TmsWebhooks } from './tms-webhooks.js';

const WebhookBody = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.String({ minLength: 1, maxLength: 100 }),
  data: Type.Record(Type.String(), Type.Unknown()),
});

const WebhookHeaders = Type.Object({
  'x-tms-timestamp': Type.Optional(Type.String({ description: 'Unix seconds' })),
  'x-tms-signature': Type.Optional(
    Type.String({ description: 'sha256=<hex HMAC-SHA256(TMS_WEBHOOK_SECRET, timestamp + "." + raw body)>' }),
  ),
});

const rawBodies = new WeakMap<FastifyRequest, string>();
const MAX_WEBHOOK_BYTES = 256 * 1024;

export async function tmsWebhookRoutes(
  app: FastifyInstance,
  options: { webhooks: TmsWebhooks },
): Promise<void> {
  const { webhooks } = options;
  // Encapsulated: only this plugin's routes parse JSON this way.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: MAX_WEBHOOK_BYTES },
    (request, body, done) => {
      rawBodies.set(request, body as string);
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new SyntaxError('Request body is not valid JSON'), undefined);
      }
    },
  );

  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/webhooks/tms',
    {
      config: { public: true },
      schema: {
        tags: ['webhooks'],
        operationId: 'receiveTmsWebhook',
        summary: 'Events from TMS: user.updated, user.deactivated, user.deleted, session.revoked',
        description:
          'TMS mode only. The signature header is an HMAC of the timestamp and the raw body; a bad signature or a timestamp more than 5 minutes away is 401, an event id seen before 409 webhook_replayed.',
        security: [],
        headers: WebhookHeaders,
        body: WebhookBody,
        response: {
          200: Envelope(Type.Object({ received: Type.Literal(true), applied: Type.Boolean() })),
          ...errors(400, 401, 409, 413, 422, 503),
        },
      },
      preValidation: async (request) => {
        const timestamp = request.headers['x-tms-timestamp'];
        const signature = request.headers['x-tms-signature'];
        webhooks.verify(
          rawBodies.get(request) ?? '',
          typeof timestamp === 'string' ? timestamp : undefined,
          typeof signature === 'string' ? signature : undefined,
        );
      },
    },
    async (request) => ok(await webhooks.handle(request.body)),
  );
}
