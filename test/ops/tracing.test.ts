// OpenTelemetry end to end: the server started with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector in this
// test (OTLP/HTTP, JSON) exports spans for an HTTP request, a socket send_message and a job, and its log lines
// carry the trace ids of those spans. A child process, because instrumentation loads before the app's modules.

import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningServer, startServer } from '../helpers/processes.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

const spans: ExportedSpan[] = [];
const contentTypes = new Set<string>();
let collector: Server;
let collectorUrl: string;
let server: RunningServer;

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      contentTypes.add(`${req.url} ${req.headers['content-type']}`);
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: ExportedSpan[] }> }>;
        };
        for (const rs of parsed.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const address = collector.address() as { port: number };
  collectorUrl = `http://127.0.0.1:${address.port}`;
  server = await startServer({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tma-otel-')),
    OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    JOB_POLL_INTERVAL_MS: '500',
    LINK_PREVIEW_ALLOWLIST: '127.0.0.1',
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  collector?.close();
});

async function api(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${server.baseUrl}/api/v1${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { data: Record<string, unknown> } };
}

const logLines = () =>
  server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports spans for an HTTP request, a socket send and a job; logs carry the trace ids', async () => {
    const password = 'correct horse battery staple';
    expect((await api('POST', '/auth/register', { username: 'tracer', password })).status).toBe(201);
    const login = await api('POST', '/auth/login', { username: 'tracer', password });
    const token = login.json.data.access_token as string;
    const group = await api(
      'POST',
      '/conversations',
      { type: 'group', name: 'Traces', member_ids: [] },
      token,
    );
    expect(group.status).toBe(201);

    const socket = io(`${server.baseUrl}/messaging`, {
      transports: ['websocket'],
      auth: { token },
      forceNew: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      // A link in the message queues a link-preview job.
      const ack = (await socket.timeout(5000).emitWithAck('send_message', {
        conversation_id: group.json.data.id,
        content: `see ${collectorUrl}/page`,
        client_id: 'c0ffee00-0000-4000-8000-000000000001',
      })) as { ok: boolean };
      expect(ack.ok).toBe(true);
    } finally {
      socket.close();
    }

    await vi.waitFor(
      () => {
        const names = spans.map((s) => s.name);
        expect(names.some((n) => /^(GET|POST) /.test(n))).toBe(true);
        expect(names).toContain('socket send_message');
        expect(names.some((n) => n.startsWith('job '))).toBe(true);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect([...contentTypes]).toContain('/v1/traces application/json');

    // The HTTP server span of a request (embedded PGlite has no pg driver: database spans need DATABASE_URL).
    expect(spans.some((s) => s.name.startsWith('POST') && s.kind === 2)).toBe(true);
    const send = spans.find((s) => s.name === 'socket send_message') as ExportedSpan;
    expect(send.attributes?.find((a) => a.key === 'tma.socket.event')?.value).toEqual({
      stringValue: 'send_message',
    });

    // Every request line has a trace id, and it is the id of an exported trace.
    const traceIds = new Set(spans.map((s) => s.traceId));
    const requests = logLines().filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    console.log(`[otel] span names: ${[...new Set(spans.map((s) => s.name))].sort().join(', ')}`);
    for (const line of requests) {
      expect(line.trace_id, JSON.stringify(line)).toMatch(/^[0-9a-f]{32}$/);
      expect(traceIds.has(line.trace_id as string)).toBe(true);
    }
  }, 90_000);
});
