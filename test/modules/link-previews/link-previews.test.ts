// Link previews: a background job fetches the first URL of a message safely, caches it and announces message.updated.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../../src/db/ids.js';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { fetchPage, LinkFetchError } from '../../../src/modules/link-previews/link-fetcher.js';
import { LinkPreviewsRepository } from '../../../src/modules/link-previews/link-previews.repository.js';
import { firstUrl, LinkPreviewsService } from '../../../src/modules/link-previews/link-previews.service.js';
import { MessagesRepository } from '../../../src/modules/messages/messages.repository.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';

let server: Server;
let port: number;
let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let conversationId: string;
const hits = new Map<string, number>();
const updates: Array<DomainEventMap['message.updated']> = [];

const PAGE = `<!doctype html><html><head><title>Plain title</title>
<meta property="og:title" content="Release notes 2.0">
<meta property="og:description" content="Everything new in this release">
<meta property="og:image" content="/cover.png">
<meta property="og:site_name" content="Example News">
</head><body><p>hello</p></body></html>`;

function startServer(): Promise<void> {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    if (path.startsWith('/page')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/huge') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write(PAGE.replace('</head>', '</head><body>'));
      res.end(
        `<p>${'x'.repeat(2 * 1024 * 1024)}</p><meta property="og:title" content="Too far down"></body></html>`,
      );
    } else if (path === '/empty') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head></head><body></body></html>');
    } else if (path === '/image.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.alloc(10));
    } else if (path === '/redirect-ok') {
      redirect('/page?via=redirect');
    } else if (path === '/redirect-loopback') {
      redirect(`http://127.0.0.1:${port}/page`);
    } else if (path === '/redirect-metadata') {
      redirect('http://169.254.169.254/latest/meta-data/');
    } else if (path === '/redirect-private') {
      redirect('http://10.0.0.1/');
    } else if (path.startsWith('/loop')) {
      redirect(`/loop${Number(path.slice(5) || 0) + 1}`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, () => resolve()));
}

/** Polls `check` until it answers something (the preview job runs on its own schedule). */
function until<T>(check: () => Promise<T | undefined>, timeout = 15_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await check();
      if (value === undefined) throw new Error('condition not met yet');
      return value;
    },
    { timeout, interval: 50 },
  );
}

function send(content: string): Promise<{ id: string; seq: number }> {
  return sendMessage(app, alice, conversationId, content);
}

/** Waits for the job to settle the URL in the cache; answers the cached status. */
async function settled(url: string): Promise<'ok' | 'failed'> {
  return until(async () => {
    const row = await app.tma.db
      .selectFrom('link_previews')
      .select('status')
      .where('url', '=', url)
      .executeTakeFirst();
    return row?.status;
  });
}

async function metadataOf(id: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/messages/${id}`, headers: bob.headers });
  expect(res.statusCode).toBe(200);
  return res.json().data.metadata;
}

beforeAll(async () => {
  await startServer();
  port = (server.address() as AddressInfo).port;
  app = await buildTestApp({ LINK_PREVIEW_ALLOWLIST: `localhost:${port}`, JOB_POLL_INTERVAL_MS: '500' });
  app.tma.bus.subscribe('message.updated', (event) => {
    updates.push(event);
  });
  alice = await createUser(app);
  bob = await createUser(app);
  conversationId = (await createGroup(app, alice, [bob], { name: 'Links' })).id;
});
afterAll(async () => {
  await app.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('link previews', () => {
  it('previews a link from a local page, stores it in the metadata and announces message_updated', async () => {
    const url = `http://localhost:${port}/page`;
    const message = await send(`Have a look: ${url}.`);
    const preview = await until(async () => (await metadataOf(message.id)).link_preview ?? undefined);
    expect(preview).toEqual({
      url,
      title: 'Release notes 2.0',
      description: 'Everything new in this release',
      image_url: `http://localhost:${port}/cover.png`,
      site_name: 'Example News',
    });
    const event = await until(async () => updates.find((u) => u.message.id === message.id));
    expect(event.conversation_id).toBe(conversationId);
    expect(event.seq).toBeGreaterThan(message.seq);
    expect(event.message.metadata.link_preview).toEqual(preview);
    const log = await app.tma.db
      .selectFrom('conversation_events')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('seq', '=', event.seq)
      .executeTakeFirstOrThrow();
    expect(log.type).toBe('message.updated');
    expect(log.message_id).toBe(message.id);
  });

  it('serves a second message with the same link from the cache', async () => {
    const url = `http://localhost:${port}/page?cached=1`;
    const first = await send(url);
    await until(async () => (await metadataOf(first.id)).link_preview ?? undefined);
    const second = await send(`again ${url}`);
    await until(async () => (await metadataOf(second.id)).link_preview ?? undefined);
    expect(hits.get('/page?cached=1')).toBe(1);
  });

  it('follows a redirect to an allowed page', async () => {
    const url = `http://localhost:${port}/redirect-ok`;
    const message = await send(url);
    expect(await settled(url)).toBe('ok');
    const preview = (await until(async () => (await metadataOf(message.id)).link_preview ?? undefined)) as {
      title: string;
    };
    expect(preview.title).toBe('Release notes 2.0');
  });

  it('reads at most 1 MB of a page', async () => {
    const url = `http://localhost:${port}/huge`;
    const message = await send(url);
    const preview = (await until(async () => (await metadataOf(message.id)).link_preview ?? undefined)) as {
      title: string;
    };
    expect(preview.title).toBe('Release notes 2.0');
  });

  const refused: Array<[string, () => string]> = [
    ['127.0.0.1 (loopback)', () => `http://127.0.0.1:${port}/page`],
    ['[::1] (loopback)', () => `http://[::1]:${port}/page`],
    ['10.x (private)', () => 'http://10.0.0.1/page'],
    ['169.254.169.254 (link-local metadata)', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a redirect to 127.0.0.1', () => `http://localhost:${port}/redirect-loopback`],
    ['a redirect to 169.254.169.254', () => `http://localhost:${port}/redirect-metadata`],
    ['a redirect to 10.x', () => `http://localhost:${port}/redirect-private`],
  ];
  for (const [name, urlOf] of refused) {
    it(`refuses ${name} and leaves the message untouched`, async () => {
      const url = urlOf();
      const before = updates.length;
      const message = await send(`look ${url}`);
      expect(await settled(url)).toBe('failed');
      const row = await app.tma.db
        .selectFrom('link_previews')
        .select('error')
        .where('url', '=', url)
        .executeTakeFirstOrThrow();
      expect(row.error).toBe('refused');
      expect(await metadataOf(message.id)).toEqual({});
      expect(updates.slice(before).some((u) => u.message.id === message.id)).toBe(false);
    });
  }
  it('never reaches the loopback page through refused links', () => {
    expect(hits.get('/page')).toBe(1);
  });

  it('leaves the message untouched for non-HTML, empty and endlessly redirecting pages', async () => {
    const cases: Array<[string, string]> = [
      [`http://localhost:${port}/image.png`, 'not_html'],
      [`http://localhost:${port}/empty`, 'empty: no title, description or image'],
      [`http://localhost:${port}/loop0`, 'too_many_redirects'],
      [`http://localhost:${port}/missing`, 'http_error'],
    ];
    for (const [url, error] of cases) {
      const message = await send(url);
      expect(await settled(url)).toBe('failed');
      const row = await app.tma.db
        .selectFrom('link_previews')
        .select('error')
        .where('url', '=', url)
        .executeTakeFirstOrThrow();
      expect(row.error).toBe(error);
      expect(await metadataOf(message.id)).toEqual({});
    }
  });

  it('skips a message deleted, or edited to another link, before its job ran', async () => {
    const service = new LinkPreviewsService({
      db: app.tma.db,
      bus: app.tma.bus,
      jobs: app.tma.jobs,
      logger: app.tma.logger,
      repo: new LinkPreviewsRepository(app.tma.db),
      messages: new MessagesRepository(app.tma.db),
      fetch: { allowlist: [`localhost:${port}`] },
    });
    const url = `http://localhost:${port}/page?skipped=1`;
    const deleted = newId();
    const edited = newId();
    const { last_seq } = await app.tma.db
      .updateTable('conversations')
      .set({ last_seq: sql`last_seq + 2` })
      .where('id', '=', conversationId)
      .returning('last_seq')
      .executeTakeFirstOrThrow();
    await app.tma.db
      .insertInto('messages')
      .values([
        {
          id: deleted,
          conversation_id: conversationId,
          seq: last_seq - 1,
          sender_id: alice.user.id,
          type: 'text',
          content: null,
          metadata: '{}',
          deleted_at: new Date(),
        },
        {
          id: edited,
          conversation_id: conversationId,
          seq: last_seq,
          sender_id: alice.user.id,
          type: 'text',
          content: 'now without the link',
          metadata: '{}',
        },
      ])
      .execute();
    await service.process({ message_id: deleted, url });
    await service.process({ message_id: edited, url });
    await service.process({ message_id: newId(), url });
    expect(hits.get('/page?skipped=1')).toBeUndefined();
    expect(await metadataOf(edited)).toEqual({});
  });
});

describe('fetchPage and firstUrl', () => {
  it('refuses non-http schemes and private addresses without the allowlist', async () => {
    await expect(fetchPage('ftp://example.com/x', { allowlist: [] })).rejects.toMatchObject({
      code: 'refused',
    });
    await expect(fetchPage(`http://localhost:${port}/page`, { allowlist: [] })).rejects.toBeInstanceOf(
      LinkFetchError,
    );
    await expect(fetchPage(`http://localhost:${port}/page`, { allowlist: [] })).rejects.toMatchObject({
      code: 'refused',
    });
  });

  it('times out slow pages', async () => {
    const slow = createServer(() => undefined);
    await new Promise<void>((resolve) => slow.listen(0, resolve));
    const slowPort = (slow.address() as AddressInfo).port;
    try {
      await expect(
        fetchPage(`http://localhost:${slowPort}/`, { allowlist: [`localhost:${slowPort}`], timeoutMs: 300 }),
      ).rejects.toMatchObject({ code: 'timeout' });
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('finds the first http(s) URL without trailing punctuation', () => {
    expect(firstUrl('see (https://example.com/a?b=1), and http://x.org')).toBe('https://example.com/a?b=1');
    expect(firstUrl('ftp://example.com and mailto:a@b.c')).toBeUndefined();
    expect(firstUrl(null)).toBeUndefined();
    expect(firstUrl('no links here')).toBeUndefined();
  });
});
