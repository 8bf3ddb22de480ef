// One schema per operation and one input rule: the same bad input gets the same code and field over REST,
// Socket.IO and /ws; NUL, lone surrogates, deep nesting, huge seqs and unsafe URLs are 400s, never 500s.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, type TestUser } from '../helpers/factories.js';
import {
  type ClientSocket,
  closeAllSockets,
  connectSocket,
  connectWs,
  emitWithAck,
} from '../helpers/sockets.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let conversationId: string;
let socket: ClientSocket;
let ws: Awaited<ReturnType<typeof connectWs>>;
let frameId = 0;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
  conversationId = (await createGroup(app, alice, [bob])).id;
  socket = await connectSocket(app, alice.token);
  ws = await connectWs(app, { token: alice.token });
  await ws.next('ready');
});
afterAll(async () => {
  ws.ws.close();
  closeAllSockets();
  await app.close();
});

type Outcome = { status?: number; code: string | undefined; field: unknown };

async function viaRest(method: 'POST' | 'GET', url: string, payload?: unknown): Promise<Outcome> {
  const res = await app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...alice.headers, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  const body = res.json() as { error?: { code: string; details?: { field?: unknown } } };
  return { status: res.statusCode, code: body.error?.code, field: body.error?.details?.field };
}

async function viaSocket(event: string, payload: unknown): Promise<Outcome> {
  const ack = (await emitWithAck(socket, event, payload)) as {
    error?: { code: string; details?: { field?: unknown } };
  };
  return { code: ack.error?.code, field: ack.error?.details?.field };
}

async function viaWs(event: string, payload: unknown): Promise<Outcome> {
  const id = ++frameId;
  ws.ws.send(JSON.stringify({ type: event, id, data: payload }));
  const ack = (await ws.next('ack')) as {
    id: number;
    error?: { code: string; details?: { field?: unknown } };
  };
  expect(ack.id).toBe(id);
  return { code: ack.error?.code, field: ack.error?.details?.field };
}

const deep = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};

const SEND_CASES: Array<{ name: string; body: Record<string, unknown>; field: string | RegExp }> = [
  { name: 'NUL in content', body: { content: 'a\u0000b' }, field: 'content' },
  { name: 'a lone high surrogate in content', body: { content: 'a\uD800b' }, field: 'content' },
  { name: 'a lone low surrogate in content', body: { content: '\uDC00' }, field: 'content' },
  { name: 'NUL in a metadata key', body: { content: 'x', metadata: { 'k\u0000': 1 } }, field: 'metadata' },
  {
    name: 'a lone surrogate in a metadata value',
    body: { content: 'x', metadata: { k: '\uD83D' } },
    field: 'metadata.k',
  },
  {
    name: 'metadata nested 100 deep',
    body: { content: 'x', metadata: { k: deep(100) } },
    field: /^metadata\.k(\.0)+$/,
  },
  { name: 'content over the cap', body: { content: 'x'.repeat(20_000) }, field: 'content' },
  {
    name: 'content over 10,000 after trimming',
    body: { content: ` ${'x'.repeat(10_001)} ` },
    field: 'content',
  },
  { name: 'content of the wrong type', body: { content: 42 }, field: 'content' },
  { name: 'a client_id that is not a UUID', body: { content: 'x', client_id: 'nope' }, field: 'client_id' },
  { name: 'an unknown property', body: { content: 'x', colour: 'red' }, field: 'colour' },
  { name: 'a message type clients may not send', body: { content: 'x', type: 'poll' }, field: 'type' },
  {
    name: 'too many metadata keys',
    body: { content: 'x', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) },
    field: 'metadata',
  },
];

describe('send_message: the same bad input, the same answer on REST, Socket.IO and /ws', () => {
  for (const { name, body, field } of SEND_CASES) {
    it(name, async () => {
      const rest = await viaRest('POST', `/conversations/${conversationId}/messages`, body);
      const io = await viaSocket('send_message', { conversation_id: conversationId, ...body });
      const plain = await viaWs('send_message', { conversation_id: conversationId, ...body });
      expect(rest.status).toBe(400);
      for (const outcome of [rest, io, plain]) {
        expect(outcome.code).toBe('validation_error');
        if (typeof field === 'string') expect(outcome.field).toBe(field);
        else expect(String(outcome.field)).toMatch(field);
      }
    });
  }

  it('a send of 100,000 nested arrays is a 400 on REST and a validation_error ack on the sockets', async () => {
    // Built by hand: JSON.stringify itself cannot go this deep.
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const body = `{"content":"x","metadata":{"k":${nested}}}`;
    const payload = `{"conversation_id":"${conversationId}","content":"x","metadata":{"k":${nested}}}`;
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');

    // Socket.IO: a raw packet with ack id 9001, past the client library's own encoder.
    const engine = socket.io.engine;
    const acked = new Promise<string>((resolve) => {
      const onPacket = (packet: { type: string; data?: unknown }) => {
        if (packet.type === 'message' && String(packet.data).startsWith('3/messaging,9001')) {
          engine.off('packet', onPacket);
          resolve(String(packet.data));
        }
      };
      engine.on('packet', onPacket);
    });
    engine.send(`2/messaging,9001["send_message",${payload}]`);
    expect(JSON.parse((await acked).slice('3/messaging,9001'.length))[0]).toMatchObject({
      ok: false,
      error: { code: 'validation_error' },
    });

    const id = ++frameId;
    ws.ws.send(`{"type":"send_message","id":${id},"data":${payload}}`);
    expect(await ws.next('ack')).toMatchObject({ id, ok: false, error: { code: 'validation_error' } });
    expect(socket.connected).toBe(true);
  });
});

describe('watermarks and sync: seqs bounded to what the database holds, on every transport', () => {
  const huge = 2 ** 63;
  it('read and delivered', async () => {
    const rest = await viaRest('POST', `/conversations/${conversationId}/read`, { seq: huge });
    const io = await viaSocket('message_read', { conversation_id: conversationId, seq: huge });
    const plain = await viaWs('message_delivered', { conversation_id: conversationId, seq: huge });
    for (const outcome of [rest, io, plain])
      expect(outcome).toMatchObject({ code: 'validation_error', field: 'seq' });
  });

  it('sync cursors', async () => {
    const body = { cursors: { [conversationId]: huge } };
    const rest = await viaRest('POST', '/sync', body);
    const io = await viaSocket('sync', body);
    const plain = await viaWs('sync', body);
    for (const outcome of [rest, io, plain]) expect(outcome.code).toBe('validation_error');
    expect(rest.status).toBe(400);
  });

  it('history and events: after_seq and before_seq above the int8 range are 400, not "bigint out of range"', async () => {
    for (const url of [
      `/conversations/${conversationId}/messages?after_seq=99999999999999999999`,
      `/conversations/${conversationId}/messages?before_seq=9223372036854775808`,
      `/conversations/${conversationId}/events?after_seq=99999999999999999999`,
    ]) {
      const outcome = await viaRest('GET', url);
      expect(outcome, url).toMatchObject({ status: 400, code: 'validation_error' });
    }
    const fine = await viaRest(
      'GET',
      `/conversations/${conversationId}/messages?after_seq=${Number.MAX_SAFE_INTEGER}`,
    );
    expect(fine.status).toBe(200);
  });
});

describe('text the server searches or stores outside messages', () => {
  it('NUL in a search q is a 400 naming q', async () => {
    for (const path of ['/search/messages', '/search/users', '/search/conversations', '/users']) {
      const outcome = await viaRest('GET', `${path}?q=ab%00cd`);
      expect(outcome, path).toMatchObject({ status: 400, code: 'validation_error', field: 'q' });
    }
  });

  it('a lone surrogate in a group name or a display name is a 400 naming the field', async () => {
    const group = await viaRest('POST', '/conversations', {
      type: 'group',
      name: 'Team \uD800',
      member_ids: [bob.user.id],
    });
    expect(group).toMatchObject({ status: 400, code: 'validation_error', field: 'name' });
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ display_name: 'Al\u0000ice' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', details: { field: 'display_name' } });
  });
});

describe('URL fields accept https only (http in development), checked by one validator', () => {
  const bad = [
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'http://example.com/a.png',
    'https://user:pw@example.com/a.png',
    'not a url',
  ];

  it('group avatar_url on create and on PATCH', async () => {
    for (const avatar_url of bad) {
      const created = await viaRest('POST', '/conversations', {
        type: 'group',
        name: 'Avatars',
        member_ids: [bob.user.id],
        avatar_url,
      });
      expect(created, avatar_url).toMatchObject({
        status: 400,
        code: 'validation_error',
        field: 'avatar_url',
      });
      const res = await app.inject({
        method: 'PATCH',
        url: `/api/v1/conversations/${conversationId}`,
        headers: alice.headers,
        payload: { avatar_url },
      });
      expect(res.statusCode, avatar_url).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_error', details: { field: 'avatar_url' } });
    }
    const good = await app.inject({
      method: 'PATCH',
      url: `/api/v1/conversations/${conversationId}`,
      headers: alice.headers,
      payload: { avatar_url: 'https://cdn.example.com/team.png' },
    });
    expect(good.statusCode).toBe(200);
    expect(good.json().data.avatar_url).toBe('https://cdn.example.com/team.png');
  });

  it('user avatar_url', async () => {
    for (const avatar_url of bad) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: alice.headers,
        payload: { avatar_url },
      });
      expect(res.statusCode, avatar_url).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_error', details: { field: 'avatar_url' } });
    }
  });

  it('http is accepted in development', async () => {
    const dev = await buildTestApp({ ENVIRONMENT: 'development' });
    try {
      const carol = await createUser(dev);
      const res = await dev.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: carol.headers,
        payload: { avatar_url: 'http://intranet.example/carol.png' },
      });
      expect(res.statusCode).toBe(200);
      const group = await dev.inject({
        method: 'POST',
        url: '/api/v1/conversations',
        headers: carol.headers,
        payload: { type: 'group', name: 'Dev', member_ids: [], avatar_url: 'http://intranet.example/g.png' },
      });
      expect(group.statusCode).toBe(201);
    } finally {
      await dev.close();
    }
  });
});

describe('a valid send still works on every transport after the checks', () => {
  it('emoji (surrogate pairs) and other astral text pass', async () => {
    const content = 'ship it 🚀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢';
    const rest = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: alice.headers,
      payload: {
        content,
        client_id: randomUUID(),
        metadata: { note: '👍', nested: { list: [1, 2, { ok: true }] } },
      },
    });
    expect(rest.statusCode).toBe(201);
    expect(rest.json().data.content).toBe(content);
    const io = await emitWithAck(socket, 'send_message', {
      conversation_id: conversationId,
      content,
      client_id: randomUUID(),
    });
    expect(io.ok).toBe(true);
    const id = ++frameId;
    ws.ws.send(
      JSON.stringify({
        type: 'send_message',
        id,
        data: { conversation_id: conversationId, content, reply_to_id: null },
      }),
    );
    expect(await ws.next('ack')).toMatchObject({ id, ok: true });
  });
});
