// Files on both storage drivers (local disk; s3 against s3rver): upload URL, direct PUT, complete with
// sniffing, signed downloads, thumbnails, voice duration, limits and refusals.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SWEEP_QUEUE } from '../../../src/modules/files/files.jobs.js';
import { SWEEP_CRON } from '../../../src/modules/files/files.module.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/factories.js';
import {
  complete,
  getFile,
  opusVoiceNote,
  png,
  put,
  ticket,
  uploadReady,
  uploadUrl,
} from './files-helpers.js';
import { type Driver, request, type StorageFixture, startStorage } from './storage-fixture.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/files');

describe.each<Driver>(['local', 's3'])('files on the %s driver', (driver) => {
  let storage: StorageFixture;
  let app: FastifyInstance;

  beforeAll(async () => {
    storage = await startStorage(driver);
    app = await buildTestApp(storage.env);
  });

  afterAll(async () => {
    await app?.close();
    await storage?.stop();
  });

  const objectExists = async (key: string) =>
    (await app.tma.services.files.deps.storage.size(key)) !== undefined;

  describe('POST /files/upload-url', () => {
    it('answers a pending file and a signed PUT valid for 15 minutes', async () => {
      const alice = await createUser(app);
      const res = await uploadUrl(app, alice, { size: 1234 });
      expect(res.statusCode).toBe(201);
      const { file, upload } = res.json().data;
      expect(file).toMatchObject({
        kind: 'image',
        name: 'picture.png',
        size: 1234,
        status: 'pending',
        url: null,
      });
      expect(upload.method).toBe('PUT');
      expect(upload.headers['content-type']).toBe('image/png');
      const ttl = new Date(upload.expires_at).getTime() - Date.now();
      expect(ttl).toBeGreaterThan(14 * 60_000);
      expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    });

    it('refuses more than FILE_MAX_BYTES with 413 file_too_large', async () => {
      const alice = await createUser(app);
      const res = await uploadUrl(app, alice, { size: 50 * 1024 * 1024 });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('file_too_large');
    });

    it('refuses a content type outside the kind allowlist with 422 unsupported_content_type', async () => {
      const alice = await createUser(app);
      const svgImage = await uploadUrl(app, alice, { size: 10, content_type: 'image/svg+xml' });
      expect(svgImage.statusCode).toBe(422);
      expect(svgImage.json().error.code).toBe('unsupported_content_type');
      const exe = await uploadUrl(app, alice, {
        size: 10,
        kind: 'file',
        content_type: 'application/x-msdownload',
      });
      expect(exe.json().error.code).toBe('unsupported_content_type');
      const bad = await uploadUrl(app, alice, { size: 10, content_type: 'not a type' });
      expect(bad.statusCode).toBe(400);
    });

    it('allows UPLOADS_PER_MINUTE (5) upload URLs a minute per user, then 429 with Retry-After', async () => {
      const alice = await createUser(app);
      const bob = await createUser(app);
      for (let i = 0; i < 5; i++) expect((await uploadUrl(app, alice, { size: 10 })).statusCode).toBe(201);
      const sixth = await uploadUrl(app, alice, { size: 10 });
      expect(sixth.statusCode).toBe(429);
      expect(sixth.json().error.code).toBe('rate_limited');
      expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
      expect((await uploadUrl(app, bob, { size: 10 })).statusCode).toBe(201);
    });
  });

  describe('upload and complete', () => {
    it('stores an image, measures it and makes a WebP thumbnail of at most 320 px', async () => {
      const alice = await createUser(app);
      const bytes = await png(800, 600);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const file = await uploadReady(app, alice, bytes, { sha256: sha });
      expect(file).toMatchObject({
        status: 'ready',
        width: 800,
        height: 600,
        sha256: sha,
        content_type: 'image/png',
      });
      expect(file.url).toEqual(expect.any(String));
      const got = await request(app, 'GET', file.url as string);
      expect(got.status).toBe(200);
      expect(Buffer.compare(got.body, bytes)).toBe(0);

      const view = await vi.waitFor(
        async () => {
          const res = await getFile(app, alice, file.id);
          const data = res.json().data;
          if (!data.thumbnail_url) throw new Error('no thumbnail yet');
          return data;
        },
        { timeout: 15_000, interval: 200 },
      );
      const thumb = await request(app, 'GET', view.thumbnail_url);
      expect(thumb.status).toBe(200);
      const meta = await sharp(thumb.body).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(320);
      expect(meta.exif).toBeUndefined();
    });

    it('rejects a text file declared as image/png with 422 file_rejected and deletes the object', async () => {
      const alice = await createUser(app);
      const bytes = Buffer.from('this is not a picture at all, only text\n'.repeat(20));
      const t = await ticket(app, alice, { size: bytes.length, name: 'photo.png' });
      expect((await put(app, t, bytes)).status).toBeLessThan(300);
      expect(await objectExists(t.file.id)).toBe(true);
      const res = await complete(app, alice, t.file.id);
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('file_rejected');
      expect(await objectExists(t.file.id)).toBe(false);
      const after = await getFile(app, alice, t.file.id);
      expect(after.json().data.status).toBe('failed');
      expect((await complete(app, alice, t.file.id)).json().error.code).toBe('file_rejected');
    });

    it('rejects a sha256 that does not match the bytes', async () => {
      const alice = await createUser(app);
      const bytes = await png(20, 20);
      const t = await ticket(app, alice, { size: bytes.length, sha256: 'a'.repeat(64) });
      await put(app, t, bytes);
      const res = await complete(app, alice, t.file.id);
      expect(res.statusCode).toBe(422);
      expect(res.json().error.details.reason).toMatch(/sha256/);
    });

    it('answers 409 upload_missing to a complete before the upload', async () => {
      const alice = await createUser(app);
      const t = await ticket(app, alice, { size: 100 });
      const res = await complete(app, alice, t.file.id);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('upload_missing');
    });

    it("answers 404 to completing or reading someone else's file", async () => {
      const alice = await createUser(app);
      const mallory = await createUser(app);
      const file = await uploadReady(app, alice, await png(10, 10));
      expect((await complete(app, mallory, file.id)).statusCode).toBe(404);
      expect((await getFile(app, mallory, file.id)).statusCode).toBe(404);
      expect((await getFile(app, mallory, file.id, '/content')).statusCode).toBe(404);
      expect((await getFile(app, mallory, file.id, '/thumbnail')).statusCode).toBe(404);
    });

    it('refuses a PUT larger than declared; nothing is stored', async () => {
      const alice = await createUser(app);
      const bytes = await png(30, 30);
      const t = await ticket(app, alice, { size: bytes.length - 10 });
      const res = await put(app, t, bytes);
      if (driver === 'local') {
        expect(res.status).toBe(413);
        expect(JSON.parse(res.body.toString()).error.code).toBe('upload_too_large');
        expect(await objectExists(t.file.id)).toBe(false);
        expect(readdirSync(join(storage.dataDir, 'files')).filter((f) => f.endsWith('.part'))).toEqual([]);
      }
      // Whatever the store accepted, complete refuses a size that is not the declared one, and deletes it.
      const done = await complete(app, alice, t.file.id);
      expect(done.statusCode).toBeGreaterThanOrEqual(400);
      expect(['upload_missing', 'file_rejected']).toContain(done.json().error.code);
      expect(await objectExists(t.file.id)).toBe(false);
    });

    it('refuses a truncated upload', async () => {
      const alice = await createUser(app);
      const bytes = await png(30, 30);
      const t = await ticket(app, alice, { size: bytes.length });
      const short = bytes.subarray(0, bytes.length - 20);
      const res = await put(app, t, short);
      if (driver === 'local') {
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body.toString()).error.code).toBe('upload_incomplete');
      }
      const done = await complete(app, alice, t.file.id);
      expect(['upload_missing', 'file_rejected']).toContain(done.json().error.code);
      expect(await objectExists(t.file.id)).toBe(false);
    });
  });

  describe('voice notes', () => {
    const fresh = opusVoiceNote();
    it(`a real 3-second Ogg/Opus file (${fresh.source}) reports duration_ms 3000 +- 50`, async () => {
      const alice = await createUser(app);
      const file = await uploadReady(app, alice, fresh.bytes, {
        name: 'voice.opus',
        kind: 'voice',
        content_type: 'audio/ogg',
      });
      expect(file).toMatchObject({ status: 'ready', content_type: 'audio/ogg' });
      expect(Math.abs((file.duration_ms as number) - 3000)).toBeLessThanOrEqual(50);
    });

    it.each([
      ['voice-3s.opus', 'audio/ogg'],
      ['voice-3s.webm', 'audio/webm'],
      ['voice-3s.m4a', 'audio/mp4'],
      ['voice-3s.mp3', 'audio/mpeg'],
    ])('%s reports duration_ms 3000 +- 50', async (name, contentType) => {
      const alice = await createUser(app);
      const bytes = readFileSync(join(FIXTURES, name));
      const file = await uploadReady(app, alice, bytes, { name, kind: 'voice', content_type: contentType });
      expect(file.status).toBe('ready');
      expect(Math.abs((file.duration_ms as number) - 3000)).toBeLessThanOrEqual(50);
    });

    it('keeps a valid client waveform, computes one for PCM WAV, refuses a malformed one', async () => {
      const alice = await createUser(app);
      const opus = readFileSync(join(FIXTURES, 'voice-3s.opus'));
      const t = await ticket(app, alice, { size: opus.length, kind: 'voice', content_type: 'audio/ogg' });
      await put(app, t, opus);
      const bad = await complete(app, alice, t.file.id, { waveform: [1, 2, 300] });
      expect(bad.statusCode).toBe(400);
      const waveform = Array.from({ length: 48 }, (_, i) => (i * 5) % 256);
      const ok = await complete(app, alice, t.file.id, { waveform });
      expect(ok.json().data.waveform).toEqual(waveform);

      const wav = readFileSync(join(FIXTURES, 'voice-1s.wav'));
      const file = await uploadReady(app, alice, wav, {
        name: 'v.wav',
        kind: 'voice',
        content_type: 'audio/wav',
      });
      expect(file.duration_ms).toBe(1000);
      expect(file.waveform).toHaveLength(64);
      expect(Math.max(...(file.waveform as number[]))).toBeGreaterThan(100);
    });

    it('rejects an image uploaded as a voice note', async () => {
      const alice = await createUser(app);
      const bytes = await png(10, 10);
      const t = await ticket(app, alice, { size: bytes.length, kind: 'voice', content_type: 'audio/ogg' });
      await put(app, t, bytes);
      const res = await complete(app, alice, t.file.id);
      expect(res.json().error.code).toBe('file_rejected');
    });
  });
  describe('signed URLs', () => {
    it('serves exact bytes with Content-Disposition and nosniff; refuses tampered and expired URLs', async () => {
      const alice = await createUser(app);
      const bytes = await png(40, 30);
      const file = await uploadReady(app, alice, bytes, { name: 'été.png' });
      const ok = await request(app, 'GET', file.url as string);
      expect(ok.status).toBe(200);
      expect(ok.headers['content-disposition']).toMatch(
        /^inline; filename="_t_\.png"; filename\*=UTF-8''%C3%A9t%C3%A9\.png$/,
      );
      if (driver === 'local') expect(ok.headers['x-content-type-options']).toBe('nosniff');

      const redirect = await getFile(app, alice, file.id, '/content');
      expect(redirect.statusCode).toBe(302);
      const followed = await request(app, 'GET', redirect.headers.location as string);
      expect(Buffer.compare(followed.body, bytes)).toBe(0);

      const expired = await app.tma.services.files.deps.storage.signDownload(file.id, {
        contentType: 'image/png',
        filename: 'x.png',
        inline: true,
        expiresInSeconds: -60,
      });
      const late = await request(app, 'GET', expired);
      expect(late.status).toBe(403);
      if (driver === 'local') {
        expect(JSON.parse(late.body.toString()).error.code).toBe('url_expired');
        const url = new URL(file.url as string, 'http://x');
        const forged = new URL(url);
        forged.searchParams.set('sig', `${url.searchParams.get('sig')?.slice(0, -2)}AA`);
        const bad = await request(app, 'GET', forged.pathname + forged.search);
        expect(bad.status).toBe(403);
        expect(JSON.parse(bad.body.toString()).error.code).toBe('url_invalid');
        // Another object under the same signature, or a longer life, breaks it too.
        const other = new URL(url);
        other.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
        expect((await request(app, 'GET', other.pathname + other.search)).status).toBe(403);
        const traversal = await request(app, 'GET', `/api/v1/files/blob/..%2F..%2Fjwt-secret${url.search}`);
        expect(traversal.status).toBe(404);
      } else {
        // s3rver checks expiry and the access key (not the SigV4 signature itself).
        const forged = (file.url as string).replace('S3RVER%2F', 'SOMEONE%2F');
        expect((await request(app, 'GET', forged)).status).toBe(403);
      }
    });

    it('serves SVG (a plain file) as an attachment, never inline', async () => {
      const alice = await createUser(app);
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
      const file = await uploadReady(app, alice, svg, {
        name: 'logo.svg',
        kind: 'file',
        content_type: 'image/svg+xml',
      });
      expect(file.content_type).toBe('image/svg+xml');
      const got = await request(app, 'GET', file.url as string);
      expect(got.status).toBe(200);
      expect(got.headers['content-disposition']).toMatch(/^attachment;/);
    });

    it('refuses a PUT with an expired or forged upload URL', async () => {
      if (driver !== 'local') return expect(driver).toBe('s3');
      const alice = await createUser(app);
      const bytes = await png(10, 10);
      const t = await ticket(app, alice, { size: bytes.length });
      const url = new URL(t.upload.url, 'http://x');
      url.searchParams.set('size', String(bytes.length + 100));
      const forged = await request(app, 'PUT', url.pathname + url.search, t.upload.headers, bytes);
      expect(JSON.parse(forged.body.toString()).error.code).toBe('url_invalid');
      const wrongType = await request(app, 'PUT', t.upload.url, { 'content-type': 'text/html' }, bytes);
      expect(wrongType.status).toBe(400);
      expect(await objectExists(t.file.id)).toBe(false);
    });
  });

  describe('orphan sweep', () => {
    it('is a cron schedule stored in the database, so one instance runs it per period', async () => {
      expect(await app.tma.jobs.schedules()).toContainEqual({ name: SWEEP_QUEUE, cron: SWEEP_CRON });
    });

    it('removes pending uploads after 1 h and unattached files after 24 h, objects included', async () => {
      const alice = await createUser(app);
      const stale = await ticket(app, alice, { size: 100 });
      const unattached = await uploadReady(app, alice, await png(12, 12));
      const fresh = await uploadReady(app, alice, await png(14, 14));
      const { db } = app.tma;
      await db
        .updateTable('files')
        .set({ created_at: new Date(Date.now() - 2 * 3600_000) })
        .where('id', '=', stale.file.id)
        .execute();
      await db
        .updateTable('files')
        .set({ created_at: new Date(Date.now() - 25 * 3600_000) })
        .where('id', '=', unattached.id)
        .execute();
      await app.tma.jobs.send(SWEEP_QUEUE, {});
      await vi.waitFor(
        async () => {
          const left = await db
            .selectFrom('files')
            .select('id')
            .where('id', 'in', [stale.file.id, unattached.id])
            .execute();
          expect(left).toEqual([]);
        },
        { timeout: 15_000, interval: 200 },
      );
      expect(await objectExists(unattached.id)).toBe(false);
      expect(await objectExists(fresh.id)).toBe(true);
      expect((await getFile(app, alice, fresh.id)).statusCode).toBe(200);
    });
  });
});
