// Property: whatever payload a client sends with any event, over Socket.IO or /ws, the ack is never an
// internal_error and the connection stays up. At least FUZZ_RUNS cases per event and transport.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationRef,
  PresencePayload,
  SendMessagePayload,
  SyncPayload,
  WatermarkPayload,
} from '../../src/realtime/protocol.js';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, type TestUser } from '../helpers/factories.js';
import {
  type ClientSocket,
  closeAllSockets,
  connectSocket,
  connectWs,
  emitWithAck,
} from '../helpers/sockets.js';
import { arbitraryFor, FUZZ_RUNS, hostileString, type JsonSchema } from './fuzz-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let conversationId: string;

beforeAll(async () => {
  app = await buildTestApp({ SOCKET_MESSAGES_PER_SECOND: '10000' });
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
  conversationId = (await createGroup(app, alice, [bob])).id;
});
afterAll(async () => {
  closeAllSockets();
  await app.close();
});

const identity = (s: JsonSchema) => s;
const schemas: Record<string, object> = {
  join_conversation: ConversationRef,
  leave_conversation: ConversationRef,
  typing_start: ConversationRef,
  typing_stop: ConversationRef,
  send_message: SendMessagePayload,
  message_delivered: WatermarkPayload,
  message_read: WatermarkPayload,
  sync: SyncPayload,
  presence: PresencePayload,
};

/** A payload for `event`: schema-shaped (its conversation usually the real one) or anything at all. */
function payloadFor(event: string): fc.Arbitrary<unknown> {
  const shaped = arbitraryFor(schemas[event] as JsonSchema, identity).map((value) => {
    if (typeof value === 'object' && value !== null && 'conversation_id' in value && Math.random() < 0.7)
      return { ...value, conversation_id: conversationId };
    return value;
  });
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) });
}

// The per-connection flood guard allows 30 events a second: a fresh connection every 25 events keeps the
// cases reaching validation and the services instead of the guard.
const PER_CONNECTION = 25;

describe('Socket.IO /messaging: no payload yields internal_error or drops the connection', () => {
  for (const event of [...Object.keys(schemas), 'no_such_event']) {
    it(event, async () => {
      let socket: ClientSocket | undefined;
      let used = 0;
      await fc.assert(
        fc.asyncProperty(event === 'no_such_event' ? fc.jsonValue() : payloadFor(event), async (payload) => {
          if (!socket || used++ >= PER_CONNECTION) {
            socket?.close();
            socket = await connectSocket(app, alice.token);
            used = 1;
          }
          const ack = await emitWithAck(socket, event, payload);
          expect(ack.error?.code).not.toBe('internal_error');
          if (ack.error) expect(ack.error.code).toMatch(/^[a-z_]+$/);
          expect(socket.connected).toBe(true);
        }),
        { numRuns: FUZZ_RUNS },
      );
      socket?.close();
    });
  }
});

describe('/ws: no frame yields internal_error or drops the connection', () => {
  it('any event with any payload, and frames that are not JSON objects', async () => {
    let client: Awaited<ReturnType<typeof connectWs>> | undefined;
    let used = 0;
    let id = 0;
    const frame = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...Object.keys(schemas))
          .chain((event) => payloadFor(event).map((data) => JSON.stringify({ type: event, data }))),
      },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: hostileString },
    );
    await fc.assert(
      fc.asyncProperty(frame, async (raw) => {
        if (!client || used++ >= PER_CONNECTION) {
          client?.ws.close();
          client = await connectWs(app, { token: alice.token });
          await client.next('ready');
          used = 1;
        }
        // Tag the frame with an id when it is an object, so the ack can be matched; else expect an error ack.
        let text = raw;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          parsed = undefined;
        }
        const tagged = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
        const frameId = ++id;
        if (tagged) text = JSON.stringify({ ...(parsed as object), id: frameId });
        client.ws.send(text);
        const answer = await client.next(
          tagged && (parsed as { type?: unknown }).type === 'ping' ? 'pong' : 'ack',
        );
        expect((answer.error as { code?: string } | undefined)?.code).not.toBe('internal_error');
        if (tagged) expect(answer.id).toBe(frameId);
        expect(client.ws.readyState).toBe(client.ws.OPEN);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
    client?.ws.close();
  });
});
