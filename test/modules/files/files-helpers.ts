// Upload helpers for the file tests: ask for a URL, PUT the bytes to it, complete; images made with sharp.
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
