// S3-compatible storage (AWS S3, Alibaba OSS, MinIO, R2): presigned PUT/GET URLs, so bytes never pass through TMA.
// The AWS SDK is loaded with the first call, so a server on the local driver never loads it.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../../../config.js';
import { lazy } from '../../../platform/lazy.js';
import { contentDisposition, type DownloadOptions, type FileStorage, type SignedUpload } from './storage.js';

type Sdk = typeof import('@aws-sdk/client-s3');

function client(sdk: Sdk, config: S3Config, endpoint: string | undefined): S3Client {
  return new sdk.S3Client({
    region: config.region,
    endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // Without these the SDK adds CRC32 checksums (and aws-chunked bodies) that third-party stores reject, and
    // a presigned PUT would carry the checksum of an empty body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const isNotFound = (sdk: Sdk, error: unknown) =>
  error instanceof sdk.S3ServiceException &&
  (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);

export class S3Storage implements FileStorage {
  readonly driver = 's3' as const;
  private clients: { sdk: Sdk; s3: S3Client; signer: S3Client } | undefined;
  private readonly load = lazy(async () => {
    const [sdk, presigner] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/s3-request-presigner'),
    ]);
    const s3 = client(sdk, this.config, this.config.endpoint);
    // Signs URLs for clients: the public endpoint when they reach the store at another address.
    const signer = this.config.publicEndpoint ? client(sdk, this.config, this.config.publicEndpoint) : s3;
    this.clients = { sdk, s3, signer };
    return { sdk, s3, signer, getSignedUrl: presigner.getSignedUrl };
  });

  constructor(private readonly config: S3Config) {}

  async signUpload(
    key: string,
    input: { contentType: string; size: number; expiresInSeconds: number },
  ): Promise<SignedUpload> {
    const { sdk, signer, getSignedUrl } = await this.load();
    const command = new sdk.PutObjectCommand({
      Bucket: this.config.bucket,
      Key: key,
      ContentType: input.contentType,
      ContentLength: input.size,
    });
    const url = await getSignedUrl(signer, command, {
      expiresIn: input.expiresInSeconds,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': input.contentType },
      expiresAt: new Date(Date.now() + input.expiresInSeconds * 1000),
    };
  }

  async signDownload(key: string, options: DownloadOptions): Promise<string> {
    const { sdk, signer, getSignedUrl } = await this.load();
    const command = new sdk.GetObjectCommand({
      Bucket: this.config.bucket,
      Key: key,
      ResponseContentType: options.contentType,
      ResponseContentDisposition: contentDisposition(options.filename, options.inline),
    });
    return getSignedUrl(signer, command, { expiresIn: options.expiresInSeconds });
  }

  async size(key: string): Promise<number | undefined> {
    const { sdk, s3 } = await this.load();
    try {
      const head = await s3.send(new sdk.HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(sdk, error)) return undefined;
      throw error;
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    const { sdk, s3 } = await this.load();
    try {
      const object = await s3.send(new sdk.GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
      if (!object.Body) return Buffer.alloc(0);
      return Buffer.from(await object.Body.transformToByteArray());
    } catch (error) {
      if (isNotFound(sdk, error)) return undefined;
      throw error;
    }
  }

  async write(key: string, body: Buffer, contentType: string): Promise<void> {
    const { sdk, s3 } = await this.load();
    await s3.send(
      new sdk.PutObjectCommand({
        Bucket: this.config.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
      }),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One request per key: DeleteObjects needs a Content-MD5 some stores insist on and others reject.
    const { sdk, s3 } = await this.load();
    for (const key of keys) {
      await s3.send(new sdk.DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
    }
  }

  async close(): Promise<void> {
    if (!this.clients) return;
    this.clients.s3.destroy();
    if (this.clients.signer !== this.clients.s3) this.clients.signer.destroy();
  }
}
