// Finishing touches on the generated OpenAPI document (docs only; routes and serialisation are untouched): shared
// error responses, the 413 and 429 every route can answer, 2xx descriptions, and optional query defaults.

type Json = Record<string, unknown>;

interface Operation extends Json {
  parameters?: Json[];
  requestBody?: Json;
  responses?: Record<string, Json>;
}

/** Tags in the order readers meet them; every operation uses one of these. */
export const API_TAGS = [
  { name: 'health', description: 'Liveness and readiness probes' },
  { name: 'auth', description: 'Local accounts and sessions: register, log in, refresh, log out' },
  { name: 'users', description: 'Profiles, directory search, your own settings' },
  { name: 'friends', description: 'Friend requests and the friends list' },
  { name: 'blocks', description: 'People you blocked: no DMs, friend requests or presence between you' },
  { name: 'conversations', description: 'DMs and groups: list, create, update, members, mute' },
  {
    name: 'messages',
    description: 'Send, history, edit, delete, reactions, receipts and read/delivered marks',
  },
  { name: 'pins', description: 'Pinned messages of a conversation' },
  { name: 'polls', description: 'Polls in conversations: create, vote, retract, close' },
  { name: 'files', description: 'Uploads through signed URLs, file views, content and thumbnails' },
  {
    name: 'calls',
    description: 'Call history, one call, ICE servers with TURN credentials (signalling: docs/calls.md)',
  },
  {
    name: 'notifications',
    description: 'Push devices, the VAPID key, in-app notifications and e-mail digest links',
  },
  { name: 'search', description: 'Full-text message search, people and conversations by name' },
  { name: 'sync', description: 'Catch-up by seq after a gap or a reconnect' },
  {
    name: 'admin',
    description: 'Administrators: users, sessions, exports, retention, invites and the audit log',
  },
  { name: 'realtime', description: 'Presence over REST (the socket protocol is in docs/realtime.md)' },
  {
    name: 'channels',
    description:
      'SMS, MMS and e-mail with people outside the company: inboxes, sends, external conversations',
  },
  { name: 'webhooks', description: 'Events from TMS (TMS mode only) and from SMS/e-mail providers (signed)' },
];

/** Shared error responses by status: name in components.responses and what it means. */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': { name: 'BadRequest', description: 'validation_error: the request does not match its schema' },
  '401': { name: 'Unauthorized', description: 'No valid bearer token (unauthenticated, token_invalid, ...)' },
  '403': { name: 'Forbidden', description: 'A member, but not allowed to do this' },
  '404': { name: 'NotFound', description: 'Not found, or not visible to the caller' },
  '409': { name: 'Conflict', description: 'Conflicts with the current state' },
  '410': { name: 'Gone', description: 'No longer available (cursor_expired: events are no longer kept)' },
  '413': { name: 'PayloadTooLarge', description: 'payload_too_large: the body is over the limit' },
  '414': { name: 'UriTooLong', description: 'uri_too_long: a path parameter is too long' },
  '422': { name: 'UnprocessableEntity', description: 'Well-formed but semantically refused' },
  '429': { name: 'TooManyRequests', description: 'rate_limited: wait Retry-After seconds' },
  '503': { name: 'ServiceUnavailable', description: 'A dependency is down; retry later' },
};

const SUCCESS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No content',
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;

function jsonSchemaOf(response: Json): Json | undefined {
  const content = response.content;
  if (!isObject(content)) return undefined;
  const json = content['application/json'];
  return isObject(json) && isObject(json.schema) ? json.schema : undefined;
}

/** The error envelope as the document spells it: `{success: false, data: null, error: {code, message}}`. */
function isErrorEnvelope(schema: Json): boolean {
  const properties = schema.properties;
  if (!isObject(properties) || !isObject(properties.success) || !isObject(properties.error)) return false;
  const success = properties.success.enum;
  const error = properties.error.properties;
  return Array.isArray(success) && success[0] === false && isObject(error) && 'code' in error;
}

function errorEnvelopeSchema(operations: Operation[]): Json | undefined {
  for (const operation of operations) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      const schema = jsonSchemaOf(response);
      if (status in ERROR_RESPONSES && schema && isErrorEnvelope(schema)) {
        const { description: _description, ...rest } = schema;
        return { ...rest, title: 'ErrorEnvelope', description: 'Every error answer has this shape' };
      }
    }
  }
  return undefined;
}

function sharedErrorResponse(status: string): Json {
  const { description } = ERROR_RESPONSES[status] as { description: string };
  const response: Json = {
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
  };
  if (status === '429' || status === '503') {
    response.headers = {
      'Retry-After': {
        description: 'Seconds to wait before retrying',
        schema: { type: 'integer', minimum: 1 },
      },
    };
  }
  return response;
}

/** Refines the document @fastify/swagger built, in place; returns it. */
export function refineOpenApiDocument<T extends object>(document: T): T {
  const doc = document as Json & { paths?: Record<string, Json>; components?: Json };
  const operations: Array<{ path: string; operation: Operation }> = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (isObject(operation)) operations.push({ path, operation: operation as Operation });
    }
  }
  doc.components ??= {};
  const components = doc.components;
  components.schemas ??= {};
  const schemas = components.schemas as Json;
  const envelope = errorEnvelopeSchema(operations.map((o) => o.operation));
  if (envelope) schemas.ErrorEnvelope = envelope;
  const used = new Set<string>();

  for (const { path, operation } of operations) {
    operation.responses ??= {};
    const responses = operation.responses;
    // Every route but the probes is rate limited; every body is capped.
    if (!path.startsWith('/health')) responses['429'] ??= {};
    if (operation.requestBody) responses['413'] ??= {};

    for (const [status, response] of Object.entries(responses)) {
      const schema = jsonSchemaOf(response);
      const shared = ERROR_RESPONSES[status];
      if (envelope && shared && (!schema || isErrorEnvelope(schema))) {
        responses[status] = { $ref: `#/components/responses/${shared.name}` };
        used.add(status);
      } else if (
        status in SUCCESS &&
        (!response.description || response.description === 'Default Response')
      ) {
        response.description = SUCCESS[status];
      }
    }
    // A query parameter with a default may be left out: the server fills it in.
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'query' && isObject(parameter.schema) && 'default' in parameter.schema) {
        delete parameter.required;
      }
    }
  }

  if (used.size > 0) {
    components.responses ??= {};
    const shared = components.responses as Json;
    for (const status of [...used].sort()) {
      shared[(ERROR_RESPONSES[status] as { name: string }).name] = sharedErrorResponse(status);
    }
  }
  return document;
}
