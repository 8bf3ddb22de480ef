// Upload helpers for the file tests: ask for a URL, PUT the bytes to it, complete; images made with sharp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { FileView } from '../../../src/modules/files/files.schemas.js';
import type { TestUser } from '../../helpers/factories.js';
import { request } from './storage-fixture.js';

export interface UploadTicket {
  file: FileView;
  upload: { url: string; method: 'PUT'; headers: Record<string, string>; expires_at: string };
}

export interface UploadInput {
  name?: string;
  size?: number;
  content_type?: string;
  kind?: 'image' | 'file' | 'voice';
  sha256?: string;
}

export async function png(width = 800, height = 600): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer();
}

export async function uploadUrl(app: FastifyInstance, user: TestUser, input: UploadInput & { size: number }) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/files/upload-url',
    headers: user.headers,
    payload: { name: 'picture.png', content_type: 'image/png', kind: 'image', ...input },
  });
}

export async function ticket(
  app: FastifyInstance,
  user: TestUser,
  input: UploadInput & { size: number },
): Promise<UploadTicket> {
  const res = await uploadUrl(app, user, input);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data as UploadTicket;
}

export function put(app: FastifyInstance, t: UploadTicket, bytes: Buffer) {
  return request(app, 'PUT', t.upload.url, t.upload.headers, bytes);
}

export function complete(app: FastifyInstance, user: TestUser, fileId: string, body: object = {}) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/files/${fileId}/complete`,
    headers: user.headers,
    payload: body,
  });
}

/** The whole flow; returns the ready file view. */
export async function uploadReady(
  app: FastifyInstance,
  user: TestUser,
  bytes: Buffer,
  input: UploadInput = {},
): Promise<FileView> {
  const t = await ticket(app, user, { ...input, size: bytes.length });
  const stored = await put(app, t, bytes);
  expect(stored.status, stored.body.toString()).toBeLessThan(300);
  const res = await complete(app, user, t.file.id);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as FileView;
}

export function getFile(app: FastifyInstance, user: TestUser, fileId: string, suffix = '') {
  return app.inject({ method: 'GET', url: `/api/v1/files/${fileId}${suffix}`, headers: user.headers });
}

/**
 * A real 3-second Ogg/Opus voice note: made now with sox and opus-tools when they are installed (CI installs
 * them), else the committed fixture made the same way (test/fixtures/files/README.md), so `npm test` needs no
 * audio tools on a fresh machine.
 */
export function opusVoiceNote(): { bytes: Buffer; source: string } {
  const fixture = join(import.meta.dirname, '../../fixtures/files/voice-3s.opus');
  const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!has('sox') || !has('opusenc')) {
    return {
      bytes: readFileSync(fixture),
      source: 'the committed fixture (sox and opusenc are not installed)',
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tma-opus-'));
  try {
    const wav = join(dir, 'tone.wav');
    const opus = join(dir, 'voice.opus');
    const run = (tool: string, args: string[]) => {
      const result = spawnSync(tool, args, { stdio: 'pipe' });
      if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr.toString()}`);
    };
    run('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', '3', 'sine', '440', 'vol', '0.5']);
    run('opusenc', ['--quiet', '--bitrate', '16', wav, opus]);
    return { bytes: readFileSync(opus), source: 'made now with sox and opusenc' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
