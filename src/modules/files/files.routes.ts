// File endpoints: upload URL, complete, the file view, content/thumbnail redirects, and (local driver) the
// signed blob URLs that TMA serves itself.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ok } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import {
  CompleteBody,
  FileIdParams,
  FileViewSchema,
  UploadUrlAnswer,
  UploadUrlBody,
} from './files.schemas.js';
import type { FilesService } from './files.service.js';
import type { LocalStorage } from './storage/local-storage.js';

const Redirect = Type.Null({ description: '302 to a short-lived signed URL (Location header)' });

export async function filesRoutes(app: FastifyInstance, ctx: AppContext, files: FilesService): Promise<void> {
  app.post<{ Body: UploadUrlBody }>(
    '/files/upload-url',
    {
      schema: {
        tags: ['files'],
        operationId: 'createFileUploadUrl',
        summary: 'Start an upload: a pending file and a signed PUT URL (15 min); 5 per minute per user',
        description:
          'Declare name, exact size, content type and kind; PUT the bytes to upload.url with upload.headers, then call POST /files/{id}/complete. A size over FILE_MAX_BYTES is 413 file_too_large, over the user quota 413 quota_exceeded.',
        body: UploadUrlBody,
        response: { 201: Envelope(UploadUrlAnswer), ...errors(400, 401, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const { file, upload } = await files.createUpload(actorOf(request), request.body);
      return reply.status(201).send(
        ok({
          file,
          upload: {
            url: upload.url,
            method: upload.method,
            headers: upload.headers,
            expires_at: upload.expiresAt.toISOString(),
          },
        }),
      );
    },
  );

  app.post<{ Params: FileIdParams; Body: CompleteBody }>(
    '/files/:id/complete',
    {
      schema: {
        tags: ['files'],
        operationId: 'completeFileUpload',
        summary:
          'Finish an upload (uploader only): the stored bytes are sniffed and measured; 422 file_rejected deletes them',
        description:
          'The stored bytes must match the declared size (and sha256 when given) and their sniffed type must fit the kind; images get a thumbnail, voice notes a duration.',
        params: FileIdParams,
        body: Type.Optional(CompleteBody),
        response: { 200: Envelope(FileViewSchema), ...errors(400, 401, 404, 409, 422) },
      },
    },
    async (request) => ok(await files.complete(actorOf(request), request.params.id, request.body ?? {})),
  );

  app.get<{ Params: FileIdParams }>(
    '/files/:id',
    {
      schema: {
        tags: ['files'],
        operationId: 'getFile',
        summary: 'A file with fresh signed URLs (its uploader, and members where it is attached)',
        description:
          'Visible to its uploader, and to the members of conversations where a message carries it; 404 to anyone else.',
        params: FileIdParams,
        response: { 200: Envelope(FileViewSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await files.get(actorOf(request), request.params.id)),
  );

  for (const which of ['content', 'thumbnail'] as const) {
    app.get<{ Params: FileIdParams }>(
      `/files/:id/${which}`,
      {
        schema: {
          tags: ['files'],
          operationId: which === 'content' ? 'getFileContent' : 'getFileThumbnail',
          summary: `302 to the file's ${which === 'content' ? 'content' : 'WebP thumbnail'} (a signed URL)`,
          description:
            'For <img> and <audio> sources: the redirect target is a short-lived signed URL, so the page needs no token.',
          params: FileIdParams,
          response: { 302: Redirect, ...errors(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const url = await files.signedUrl(actorOf(request), request.params.id, which);
        return reply.header('cache-control', 'private, no-store').redirect(url, 302);
      },
    );
  }

  if (files.deps.storage.driver === 'local') {
    await app.register(async (scope) => blobRoutes(scope, files.deps.storage as LocalStorage, ctx));
  }
}

const BlobParams = Type.Object({ key: Type.String({ maxLength: 120 }) }, { additionalProperties: false });
const BlobQuery = Type.Object({
  expires: Type.String({ maxLength: 20 }),
  sig: Type.String({ maxLength: 100 }),
  size: Type.Optional(Type.String({ maxLength: 20 })),
  ct: Type.Optional(Type.String({ maxLength: 200 })),
  cd: Type.Optional(Type.String({ maxLength: 2000 })),
});
type BlobParams = Static<typeof BlobParams>;
type BlobQuery = Static<typeof BlobQuery>;

/** The local driver's signed URLs: the signature is the authorisation, so these routes take no bearer token. */
async function blobRoutes(app: FastifyInstance, storage: LocalStorage, ctx: AppContext): Promise<void> {
  // The PUT body is streamed to disk by the handler: no parser reads it, and no JSON body limit applies to it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.put<{ Params: BlobParams; Querystring: BlobQuery }>(
    '/files/blob/:key',
    {
      config: { public: true },
      schema: {
        tags: ['files'],
        operationId: 'putFileBlob',
        summary: 'Upload the bytes to a signed URL from POST /files/upload-url (local storage driver)',
        description:
          'The signature in the query is the authorisation (no bearer token). The body must have the declared size (413 upload_too_large while streaming, nothing kept); an expired or wrong signature is 403.',
        params: BlobParams,
        querystring: BlobQuery,
        response: { 204: Type.Null(), ...errors(400, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      await storage.receive(
        request.params.key,
        request.query,
        request.headers['content-type'],
        request.raw,
        ctx.config.storage.fileMaxBytes,
      );
      return reply.status(204).send();
    },
  );

  app.get<{ Params: BlobParams; Querystring: BlobQuery }>(
    '/files/blob/:key',
    {
      config: { public: true },
      schema: {
        tags: ['files'],
        operationId: 'getFileBlob',
        summary: 'Download through a signed URL (local storage driver); non-media is served as an attachment',
        description:
          'The signature in the query is the authorisation (no bearer token). JPEG, PNG, WebP, GIF, AVIF, audio and MP4/WebM video are served inline, anything else (SVG too) as an attachment. A single `Range: bytes=a-b` is answered 206 with that part (audio and video seek with it), one past the end 416.',
        params: BlobParams,
        querystring: BlobQuery,
        response: {
          200: Type.Unknown({ description: 'The file bytes' }),
          206: Type.Unknown({ description: 'The requested byte range of the file' }),
          416: Type.Null({ description: 'The range starts past the end of the file' }),
          ...errors(400, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const blob = await storage.download(request.params.key, request.query);
      reply
        .header('content-type', blob.contentType)
        .header('content-disposition', blob.disposition)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('cache-control', 'private, max-age=300')
        .header('accept-ranges', 'bytes');
      const range = byteRange(request.headers.range, blob.size);
      if (range === 'unsatisfiable')
        return reply.status(416).header('content-range', `bytes */${blob.size}`).send();
      if (!range) return reply.send(storage.openRead(blob.path));
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`)
        .header('content-length', range.end - range.start + 1)
        .send(storage.openRead(blob.path, range));
    },
  );
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range of a file of `size` bytes; null (the whole file) for no header,
 * another unit or several ranges; 'unsatisfiable' when it starts past the end.
 */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const last = Math.min(Number(m[2]), size);
    return last === 0 ? 'unsatisfiable' : { start: size - last, end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return end < start ? null : { start, end };
}
