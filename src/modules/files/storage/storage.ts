// The object-storage contract both drivers implement: sign direct uploads and downloads, inspect, read, write, delete.

export interface SignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the client must send with the PUT (the signature covers them). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface DownloadOptions {
  contentType: string;
  filename: string;
  /** false: `Content-Disposition: attachment` (non-media, SVG). */
  inline: boolean;
  expiresInSeconds: number;
}

export interface FileStorage {
  readonly driver: 'local' | 's3';
  signUpload(
    key: string,
    input: { contentType: string; size: number; expiresInSeconds: number },
  ): Promise<SignedUpload>;
  signDownload(key: string, options: DownloadOptions): Promise<string>;
  /** The stored object's size, or undefined when nothing was uploaded under the key. */
  size(key: string): Promise<number | undefined>;
  /** The whole object (callers bound it by its size first); undefined when missing. */
  read(key: string): Promise<Buffer | undefined>;
  write(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Deletes the objects; missing ones are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Keys are server-generated; anything else (path separators, `..`) is refused before touching storage. */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}(\.[a-z0-9]{1,10})?$/;

export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key) && !key.includes('..');
}

/** `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(filename: string, inline: boolean): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_').slice(0, 200) || 'file';
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
