// The spec makes a typed client: openapi-typescript generates types from /openapi.json, a small openapi-fetch client
// written against them type-checks with no casts, and then runs against the real app on an ephemeral port.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';

// Under node_modules so the generated files resolve `openapi-fetch` from the project, out of reach of the linter.
const CACHE = resolve('node_modules/.cache');
let dir: string;
let app: FastifyInstance;

const CLIENT = `import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Message = components['schemas']['Message'];
type Conversation = components['schemas']['Conversation'];

export interface Outcome {
  userId: string;
  conversation: Conversation;
  listed: Conversation[];
  hasMore: boolean;
  sent: Message;
  edited: Message;
  deleted: Message;
  refusedCode: string;
}

export async function run(baseUrl: string, username: string, password: string): Promise<Outcome> {
  const client = createClient<paths>({ baseUrl });
  const registered = await client.POST('/api/v1/auth/register', { body: { username, password } });
  if (!registered.data) throw new Error('register failed');
  const login = await client.POST('/api/v1/auth/login', { body: { username, password } });
  if (!login.data) throw new Error(login.error?.error.code ?? 'login failed');
  const headers = { Authorization: \`Bearer \${login.data.data.access_token}\` };

  const created = await client.POST('/api/v1/conversations', {
    headers,
    body: { type: 'group', name: 'Typed client', member_ids: [] },
  });
  if (!created.data) throw new Error(created.error?.error.code ?? 'create failed');
  const conversation: Conversation = created.data.data;

  const listed = await client.GET('/api/v1/conversations', { headers, params: { query: { limit: 10 } } });
  if (!listed.data) throw new Error('list failed');

  const sent = await client.POST('/api/v1/conversations/{id}/messages', {
    headers,
    params: { path: { id: conversation.id } },
    body: { content: 'hello from a generated client', client_id: crypto.randomUUID() },
  });
  if (!sent.data) throw new Error(sent.error?.error.code ?? 'send failed');
  const message: Message = sent.data.data;

  const edited = await client.PATCH('/api/v1/messages/{id}', {
    headers,
    params: { path: { id: message.id } },
    body: { content: 'edited' },
  });
  if (!edited.data) throw new Error('edit failed');
  const deleted = await client.DELETE('/api/v1/messages/{id}', { headers, params: { path: { id: message.id } } });
  if (!deleted.data) throw new Error('delete failed');

  const refused = await client.GET('/api/v1/messages/{id}', {
    params: { path: { id: message.id } },
  });
  return {
    userId: login.data.data.user.id,
    conversation,
    listed: listed.data.data,
    hasMore: listed.data.pagination.has_more,
    sent: message,
    edited: edited.data.data,
    deleted: deleted.data.data,
    refusedCode: refused.error ? refused.error.error.code : 'none',
  };
}
`;

/** Type-checks the files in one program; answers the messages per file name. */
function typeCheck(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
  });
  const found = new Map<string, string[]>(files.map((file) => [file, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const list = found.get(diagnostic.file?.fileName ?? '');
    if (list) list.push(message);
    else found.set('', [...(found.get('') ?? []), message]);
  }
  return found;
}

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true });
  dir = mkdtempSync(join(CACHE, 'openapi-client-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  app = await buildTestApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a client generated from /openapi.json', () => {
  it('generates types, type-checks an openapi-fetch client with no casts (a wrong body fails), and runs it', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const types = astToString(await openapiTS(spec, { silent: true }));
    expect(types).toContain('Message: {');
    expect(types).not.toMatch(/def-\d/);
    writeFileSync(join(dir, 'schema.d.ts'), types);
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    expect(CLIENT).not.toMatch(/\bas\b|\bany\b|@ts-/);
    // The same client with a wrong body must not compile: the types do constrain the calls.
    writeFileSync(join(dir, 'wrong.ts'), CLIENT.replace("body: { content: 'edited' }", 'body: { text: 42 }'));

    const diagnostics = typeCheck([join(dir, 'client.ts'), join(dir, 'wrong.ts')]);
    expect(diagnostics.get(join(dir, 'client.ts'))).toEqual([]);
    expect(diagnostics.get('')).toBeUndefined();
    expect((diagnostics.get(join(dir, 'wrong.ts')) ?? []).join('\n')).toMatch(/'text'/);

    const { outputText } = ts.transpileModule(CLIENT, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, 'client.mjs'), outputText);
    const client = (await import(pathToFileURL(join(dir, 'client.mjs')).href)) as {
      run: (baseUrl: string, username: string, password: string) => Promise<Record<string, unknown>>;
    };
    const address = app.server.address();
    if (!address || typeof address !== 'object') throw new Error('the app is not listening');
    const suffix = Math.random().toString(36).slice(2, 8);
    const outcome = await client.run(
      `http://127.0.0.1:${address.port}`,
      `typed_${suffix}`,
      `Generated-client-${suffix}-horse`,
    );
    expect(outcome).toMatchObject({
      conversation: { type: 'group', name: 'Typed client' },
      hasMore: false,
      sent: { content: 'hello from a generated client', type: 'text' },
      edited: { content: 'edited' },
      deleted: { content: null },
      refusedCode: 'unauthenticated',
    });
    expect(outcome.listed).toEqual([expect.objectContaining({ name: 'Typed client' })]);
  }, 60_000);
});
