// File payloads of the REST API: the file view, the upload-URL request and answer, completing an upload.
import { type Static, type TSchema, Type } from 'typebox';

// Local (not messages.schemas' helper): the message schemas import this file.
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const FileKindSchema = Type.Union([
  Type.Literal('image'),
  Type.Literal('file'),
  Type.Literal('voice'),
]);
export type FileKind = Static<typeof FileKindSchema>;

/** Voice waveform: 32-128 amplitudes, 0-255. */
export const WaveformSchema = Type.Array(Type.Integer({ minimum: 0, maximum: 255 }), {
  minItems: 32,
  maxItems: 128,
});

export const FileViewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: FileKindSchema,
    name: Type.String(),
    size: Type.Integer({ description: 'Bytes' }),
    content_type: Type.String(),
    sha256: Nullable(Type.String()),
    status: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')]),
    width: Nullable(Type.Integer()),
    height: Nullable(Type.Integer()),
    duration_ms: Nullable(Type.Integer()),
    waveform: Nullable(Type.Array(Type.Integer())),
    url: Nullable(Type.String({ description: 'Short-lived signed download URL; null until ready' })),
    thumbnail_url: Nullable(
      Type.String({ description: 'Signed URL of the WebP thumbnail; null until made' }),
    ),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'File' },
);
export type FileView = Static<typeof FileViewSchema>;

export const UploadUrlBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    size: Type.Integer({ minimum: 1, description: 'Exact size in bytes; the upload must match it' }),
    content_type: Type.String({ minLength: 3, maxLength: 127, pattern: '^[\\w.+-]+/[\\w.+-]+$' }),
    kind: FileKindSchema,
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
  },
  { additionalProperties: false },
);
export type UploadUrlBody = Static<typeof UploadUrlBody>;

export const UploadInstructions = Type.Object({
  url: Type.String({ description: 'Signed PUT URL (relative to this server with the local driver)' }),
  method: Type.Literal('PUT'),
  headers: Type.Record(Type.String(), Type.String()),
  expires_at: Type.String({ format: 'date-time' }),
});

export const UploadUrlAnswer = Type.Object(
  { file: FileViewSchema, upload: UploadInstructions },
  { $id: 'FileUpload' },
);

export const CompleteBody = Type.Object(
  {
    waveform: Type.Optional(WaveformSchema),
  },
  { additionalProperties: false },
);
export type CompleteBody = Static<typeof CompleteBody>;

export const FileIdParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export type FileIdParams = Static<typeof FileIdParams>;
