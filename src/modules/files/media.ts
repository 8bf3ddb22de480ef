// What an uploaded object really is: content sniffing (file-type), the per-kind allowlist, image dimensions
// (sharp), voice duration (music-metadata) and, for PCM WAV, a server-computed waveform.
import { lazy } from '../../platform/lazy.js';
import type { FileKind } from './files.schemas.js';

// The decoders are loaded with the first upload that needs them.
const loadFileType = lazy(() => import('file-type'));
const loadMusicMetadata = lazy(() => import('music-metadata'));
const loadSharp = lazy(async () => (await import('sharp')).default);

const IMAGE_TYPES = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/heic',
  'image/heif',
  'image/avif',
]);
const VOICE_TYPES = new Set([
  'audio/ogg',
  'audio/opus',
  'audio/webm',
  'video/webm',
  'audio/mp4',
  'audio/x-m4a',
  'audio/m4a',
  'audio/aac',
  'audio/mpeg',
  'audio/mp3',
  'audio/wav',
  'audio/x-wav',
  'audio/wave',
]);
/** Plain files: documents, archives, media and text; anything else is refused at upload-url time. */
const FILE_TYPE_PATTERNS = [
  /^image\/[\w.+-]+$/,
  /^audio\/[\w.+-]+$/,
  /^video\/(mp4|webm|quicktime|ogg|x-matroska)$/,
  /^text\/(plain|csv|markdown|calendar|x-vcard|vcard)$/,
  /^application\/(pdf|zip|gzip|x-gzip|x-tar|x-7z-compressed|vnd\.rar|x-rar-compressed|json|rtf|xml|octet-stream)$/,
  /^application\/(msword|vnd\.ms-excel|vnd\.ms-powerpoint)$/,
  /^application\/vnd\.openxmlformats-officedocument\.[\w.]+$/,
  /^application\/vnd\.oasis\.opendocument\.[\w.]+$/,
];
/** Declared types whose bytes file-type recognises: the content must then be of the same family. */
const SNIFFABLE_FAMILY = /^(image\/(?!svg)|audio\/|video\/|application\/pdf$)/;

/** Serve inline only what browsers render as media; SVG (scriptable) and everything else are attachments. */
export function servedInline(contentType: string): boolean {
  return /^(image\/(jpeg|png|webp|gif|avif)|audio\/|video\/(mp4|webm))/.test(contentType);
}

const base = (contentType: string) => contentType.split(';')[0]?.trim().toLowerCase() ?? '';

export function isAllowed(kind: FileKind, contentType: string): boolean {
  const type = base(contentType);
  if (kind === 'image') return IMAGE_TYPES.has(type);
  if (kind === 'voice') return VOICE_TYPES.has(type);
  return FILE_TYPE_PATTERNS.some((pattern) => pattern.test(type));
}

export interface Inspected {
  contentType: string;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  waveform: number[] | null;
  /** sharp can decode it: a thumbnail job is worth enqueuing. */
  thumbnail: boolean;
}

export class FileRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'FileRejected';
  }
}

const family = (contentType: string) => base(contentType).split('/')[0];

/** Sniffs and measures the bytes; throws FileRejected when they are not what the kind and type declare. */
export async function inspect(
  kind: FileKind,
  declaredType: string,
  bytes: Buffer,
  limits: { voiceMaxSeconds: number },
): Promise<Inspected> {
  const sniffed = await (await loadFileType()).fileTypeFromBuffer(bytes);
  const mime = sniffed ? base(sniffed.mime) : undefined;
  const result: Inspected = {
    contentType: base(declaredType),
    width: null,
    height: null,
    durationMs: null,
    waveform: null,
    thumbnail: false,
  };
  if (kind === 'image') {
    if (!mime || !IMAGE_TYPES.has(mime))
      throw new FileRejected(`the content is not an image (${mime ?? 'unknown'})`);
    result.contentType = mime;
    Object.assign(result, await imageFacts(bytes));
    return result;
  }
  if (kind === 'voice') {
    if (!mime || !VOICE_TYPES.has(mime))
      throw new FileRejected(`the content is not audio (${mime ?? 'unknown'})`);
    result.contentType = mime === 'video/webm' ? 'audio/webm' : mime === 'video/mp4' ? 'audio/mp4' : mime;
    result.durationMs = await durationOf(bytes, mime);
    if (result.durationMs > limits.voiceMaxSeconds * 1000) {
      throw new FileRejected(`the voice note is longer than ${limits.voiceMaxSeconds} s`);
    }
    if (mime === 'audio/wav' || mime === 'audio/x-wav') result.waveform = wavWaveform(bytes);
    return result;
  }
  // A plain file: a declared media type must be backed by media bytes of that family.
  if (SNIFFABLE_FAMILY.test(result.contentType)) {
    if (!mime || family(mime) !== family(result.contentType)) {
      if (!(mime === 'application/pdf' && result.contentType === 'application/pdf')) {
        throw new FileRejected(`the content (${mime ?? 'unknown'}) is not ${result.contentType}`);
      }
    }
    if (mime) result.contentType = mime;
  }
  return result;
}

async function imageFacts(bytes: Buffer): Promise<Partial<Inspected>> {
  const sharp = await loadSharp();
  try {
    const meta = await sharp(bytes, { animated: false }).metadata();
    let width = meta.width ?? null;
    let height = meta.pageHeight ?? meta.height ?? null;
    // EXIF orientations 5-8 are rotated by 90 degrees: report what a viewer shows.
    if ((meta.orientation ?? 1) >= 5) [width, height] = [height, width];
    return { width, height, thumbnail: true };
  } catch {
    // A format sharp cannot decode here (e.g. some HEIC): stored and downloadable, without a thumbnail.
    return { thumbnail: false };
  }
}

async function durationOf(bytes: Buffer, mime: string): Promise<number> {
  let seconds: number | undefined;
  const { parseBuffer } = await loadMusicMetadata();
  try {
    const meta = await parseBuffer(bytes, { mimeType: mime, size: bytes.length }, { duration: true });
    seconds = meta.format.duration;
  } catch {
    throw new FileRejected('the audio container could not be read');
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    throw new FileRejected('the audio has no readable duration');
  }
  return Math.round(seconds * 1000);
}

/** 64 peak amplitudes (0-255) of 16-bit PCM WAV; null when the layout is not that. */
export function wavWaveform(bytes: Buffer, buckets = 64): number[] | null {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') return null;
  let offset = 12;
  let bits = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') bits = bytes.readUInt16LE(offset + 22);
    if (id === 'data') {
      if (bits !== 16) return null;
      const start = offset + 8;
      const samples = Math.floor(Math.min(size, bytes.length - start) / 2);
      if (samples < buckets) return null;
      const per = Math.floor(samples / buckets);
      const peaks: number[] = [];
      for (let b = 0; b < buckets; b++) {
        let peak = 0;
        for (let i = 0; i < per; i++)
          peak = Math.max(peak, Math.abs(bytes.readInt16LE(start + (b * per + i) * 2)));
        peaks.push(Math.min(255, Math.round((peak / 32768) * 255)));
      }
      return peaks;
    }
    offset += 8 + size + (size % 2);
  }
  return null;
}

/** The WebP thumbnail: EXIF orientation applied, longest side 320 px, metadata stripped (sharp's default). */
export async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(bytes, { animated: false })
    .rotate()
    .resize(320, 320, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
}
