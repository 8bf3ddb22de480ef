// Byte ranges on the local driver's signed downloads: audio and video seek with them (the web client's voice-note
// slider). A single range is answered 206 with that part, one past the end 416, anything else the whole file.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteRange } from '../../../src/modules/files/files.routes.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/factories.js';
import { opusVoiceNote, uploadReady } from './files-helpers.js';
import { request, type StorageFixture, startStorage } from './storage-fixture.js';

describe('byte ranges of a download (local driver)', () => {
  let storage: StorageFixture;
  let app: FastifyInstance;

  beforeAll(async () => {
    storage = await startStorage('local');
    app = await buildTestApp(storage.env);
  });

  afterAll(async () => {
    await app?.close();
    await storage?.stop();
  });

  it('answers a range with 206 and that part, past the end with 416, none with the whole file', async () => {
    const alice = await createUser(app);
    const { bytes } = opusVoiceNote();
    const file = await uploadReady(app, alice, bytes, {
      name: 'voice.ogg',
      content_type: 'audio/ogg',
      kind: 'voice',
    });
    const url = file.url as string;
    expect(url.startsWith('/')).toBe(true);

    const whole = await request(app, 'GET', url);
    expect(whole.status).toBe(200);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(bytes)).toBe(true);

    const part = await request(app, 'GET', url, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${bytes.length}`);
    expect(part.headers['content-length']).toBe('100');
    expect(part.body.equals(bytes.subarray(100, 200))).toBe(true);

    const tail = await request(app, 'GET', url, { range: 'bytes=-10' });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(bytes.subarray(bytes.length - 10))).toBe(true);

    const open = await request(app, 'GET', url, { range: `bytes=${bytes.length - 5}-` });
    expect(open.status).toBe(206);
    expect(open.body.equals(bytes.subarray(bytes.length - 5))).toBe(true);

    const past = await request(app, 'GET', url, { range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(past.body.length).toBe(0);

    // A malformed or multi-part range is ignored: the whole file.
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,5-6', 'bytes=-']) {
      const res = await request(app, 'GET', url, { range });
      expect(res.status, range).toBe(200);
      expect(res.body.equals(bytes), range).toBe(true);
    }

    // The signature still rules: a tampered URL with a range is refused.
    const forged = await request(app, 'GET', `${url}x`, { range: 'bytes=0-9' });
    expect(forged.status).toBe(403);
  });

  it('parses one range of a file', () => {
    expect(byteRange(undefined, 10)).toBeNull();
    expect(byteRange('bytes=0-3', 10)).toEqual({ start: 0, end: 3 });
    expect(byteRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(byteRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 });
    expect(byteRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(byteRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(byteRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(byteRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(byteRange('bytes=5-2', 10)).toBeNull();
    expect(byteRange('bytes=0-1,3-4', 10)).toBeNull();
  });
});
