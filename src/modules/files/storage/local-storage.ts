// Local-disk storage (embedded default): objects under DATA_DIR/files, URLs signed with HMAC-SHA256 and served
// by TMA itself at /api/v1/files/blob/<key>; uploads are streamed to disk with the size cap enforced while streaming.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError, ForbiddenError, NotFoundError, ValidationError } from '../../../errors.js';
import {
  contentDisposition,
  type DownloadOptions,
  type FileStorage,
  isValidKey,
  type SignedUpload,
} from './storage.js';

export const BLOB_ROUTE_PREFIX = '/api/v1/files/blob/';

/** What a verified download URL says to serve. */
export interface BlobDownload {
  path: string;
  size: number;
  contentType: string;
  disposition: string;
}

class UploadTooLargeError extends AppError {
  constructor(limit: number) {
    super(413, 'upload_too_large', `The upload is larger than the declared ${limit} bytes`);
  }
}

/**
 * Writes the stream to `path`, failing with UploadTooLargeError as soon as more than `limit` bytes arrive.
 * The rest of an oversized body is drained (not destroyed), so the 413 answer still reaches the client.
 */
function writeCapped(body: Readable, path: string, limit: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const file = createWriteStream(path, { flags: 'wx' });
    let received = 0;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      body.off('data', onData);
      body.unpipe(file);
      body.resume();
      file.destroy();
      file.once('close', () => reject(error));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(new UploadTooLargeError(limit));
    };
    body.on('data', onData);
    body.once('aborted', () => fail(new Error('aborted')));
    body.once('error', (error) => fail(error));
    file.once('error', (error) => fail(error));
    file.once('finish', () => {
      if (!failed) resolvePromise(received);
    });
    body.pipe(file);
  });
}

export class LocalStorage implements FileStorage {
  readonly driver = 'local' as const;
  private readonly root: string;
  private readonly key: Buffer;

  /** `secret`: the app's signing secret; the URL key is derived from it, never the secret itself. */
  constructor(dataDir: string, secret: string) {
    this.root = resolve(dataDir, 'files');
    this.key = createHmac('sha256', secret).update('tma-files-url-v1').digest();
  }

  private pathOf(key: string): string {
    if (!isValidKey(key)) throw new NotFoundError('File');
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new NotFoundError('File');
    return path;
  }

  private sign(fields: string[]): string {
    return createHmac('sha256', this.key).update(fields.join('\n')).digest('base64url');
  }

  private url(key: string, params: Record<string, string>, fields: string[]): string {
    const query = new URLSearchParams({ ...params, sig: this.sign(fields) });
    return `${BLOB_ROUTE_PREFIX}${key}?${query.toString()}`;
  }

  async signUpload(
    key: string,
    input: { contentType: string; size: number; expiresInSeconds: number },
  ): Promise<SignedUpload> {
    const expires = Math.floor(Date.now() / 1000) + input.expiresInSeconds;
    const params = { expires: String(expires), size: String(input.size), ct: input.contentType };
    return {
      url: this.url(key, params, ['PUT', key, params.expires, params.size, params.ct]),
      method: 'PUT',
      headers: { 'content-type': input.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  async signDownload(key: string, options: DownloadOptions): Promise<string> {
    const expires = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    const params = {
      expires: String(expires),
      ct: options.contentType,
      cd: contentDisposition(options.filename, options.inline),
    };
    return this.url(key, params, ['GET', key, params.expires, params.ct, params.cd]);
  }

  /** Checks a signed URL's query; throws 403 url_expired / url_invalid. */
  private verify(fields: string[], query: Record<string, string | undefined>): void {
    const expires = Number(query.expires);
    const given = Buffer.from(query.sig ?? '', 'utf8');
    const expected = Buffer.from(this.sign(fields), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ForbiddenError('The URL signature is not valid', 'url_invalid');
    }
    if (!Number.isInteger(expires) || expires < Date.now() / 1000) {
      throw new ForbiddenError('The URL has expired', 'url_expired');
    }
  }

  /**
   * A signed PUT: streams the body to `<key>.part`, aborting (and deleting it) past the declared size or the
   * cap; a body shorter than declared is refused too. Only a whole upload becomes the object (rename).
   */
  async receive(
    key: string,
    query: Record<string, string | undefined>,
    contentType: string | undefined,
    body: Readable,
    maxBytes: number,
  ): Promise<void> {
    const path = this.pathOf(key);
    this.verify(['PUT', key, query.expires ?? '', query.size ?? '', query.ct ?? ''], query);
    const declared = Number(query.size);
    if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() !== (query.ct ?? '').toLowerCase()) {
      throw new ValidationError('Content-Type must be the one the upload URL was issued for', {
        field: 'content-type',
      });
    }
    if (await this.size(key)) throw new AppError(409, 'upload_exists', 'This file was already uploaded');
    const limit = Math.min(declared, maxBytes);
    await mkdir(this.root, { recursive: true });
    const part = `${path}.${process.pid}.${Date.now().toString(36)}.part`;
    let received = 0;
    try {
      received = await writeCapped(body, part, limit);
    } catch (error) {
      await rm(part, { force: true });
      if (error instanceof UploadTooLargeError) throw error;
      throw new AppError(400, 'upload_incomplete', 'The upload was interrupted');
    }
    if (received !== declared) {
      await rm(part, { force: true });
      throw new AppError(400, 'upload_incomplete', `Received ${received} of the declared ${declared} bytes`);
    }
    await rename(part, path);
  }

  /** A signed GET: what to stream and with which headers. */
  async download(key: string, query: Record<string, string | undefined>): Promise<BlobDownload> {
    const path = this.pathOf(key);
    this.verify(['GET', key, query.expires ?? '', query.ct ?? '', query.cd ?? ''], query);
    const size = await this.size(key);
    if (size === undefined) throw new NotFoundError('File');
    return {
      path,
      size,
      contentType: query.ct ?? 'application/octet-stream',
      disposition: query.cd ?? 'attachment',
    };
  }

  /** The file, or the bytes `start`-`end` (inclusive) of it. */
  openRead(path: string, range?: { start: number; end: number }): Readable {
    return createReadStream(path, range);
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? info.size : undefined;
    } catch {
      return undefined;
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch {
      return undefined;
    }
  }

  async write(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(this.root, { recursive: true });
    const part = `${path}.${process.pid}.part`;
    await writeFile(part, body);
    await rename(part, path);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      if (isValidKey(key)) await rm(join(this.root, key), { force: true });
    }
  }

  async close(): Promise<void> {}
}
