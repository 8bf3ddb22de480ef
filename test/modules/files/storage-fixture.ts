// Storage for the file tests: the local driver in a temp data directory, or s3rver (started here on a free
// port, bucket created with the SDK) for the s3 driver; plus PUT/GET helpers that work for both URL kinds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import S3rver from 's3rver';

export type Driver = 'local' | 's3';

export interface StorageFixture {
  env: Record<string, string>;
  dataDir: string;
  client: S3Client | undefined;
  stop(): Promise<void>;
}

export const BUCKET = 'tma-test';

export async function startStorage(driver: Driver): Promise<StorageFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tma-files-'));
  const base = { DATA_DIR: dataDir, JOB_POLL_INTERVAL_MS: '500' };
  if (driver === 'local') {
    return {
      env: { ...base, STORAGE_DRIVER: 'local' },
      dataDir,
      client: undefined,
      stop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const s3Dir = mkdtempSync(join(tmpdir(), 'tma-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  return {
    env: {
      ...base,
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    dataDir,
    client,
    stop: async () => {
      client.destroy();
      await server.close();
      rmSync(s3Dir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A request to a signed URL: relative ones (local driver) go through the app, absolute ones over HTTP. */
export async function request(
  app: FastifyInstance,
  method: 'GET' | 'PUT',
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<HttpAnswer> {
  if (url.startsWith('/')) {
    const res = await app.inject({ method, url, headers, payload: body });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) flat[k] = String(v);
    return { status: res.statusCode, headers: flat, body: res.rawPayload };
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    body: Buffer.from(await res.arrayBuffer()),
  };
}
