// File settings: defaults, and a clear error naming each variable that is wrong.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('file configuration', () => {
  it('defaults: local driver, 10 MB, 5 uploads a minute, no quota, 300 s voice, deletion at once', () => {
    const { storage } = loadConfig({});
    expect(storage).toMatchObject({
      driver: 'local',
      fileMaxBytes: 10 * 1024 * 1024,
      uploadsPerMinute: 5,
      userQuotaBytes: undefined,
      voiceMaxSeconds: 300,
      retentionAfterDeleteSeconds: 0,
    });
  });

  it('reads every variable', () => {
    const { storage } = loadConfig({
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'b',
      S3_ACCESS_KEY_ID: 'k',
      S3_SECRET_ACCESS_KEY: 's',
      S3_ENDPOINT: 'http://minio:9000',
      S3_PUBLIC_ENDPOINT: 'https://files.example.com',
      S3_FORCE_PATH_STYLE: 'false',
      FILE_MAX_BYTES: '2048',
      UPLOADS_PER_MINUTE: '20',
      USER_QUOTA_BYTES: '1000000',
      VOICE_MAX_SECONDS: '60',
      FILE_RETENTION_AFTER_DELETE: '7d',
    });
    expect(storage).toMatchObject({
      fileMaxBytes: 2048,
      uploadsPerMinute: 20,
      userQuotaBytes: 1_000_000,
      voiceMaxSeconds: 60,
      retentionAfterDeleteSeconds: 7 * 86400,
    });
    expect(storage.s3).toMatchObject({ publicEndpoint: 'https://files.example.com', forcePathStyle: false });
  });

  it('names each bad variable', () => {
    const found = problems({
      FILE_MAX_BYTES: 'ten',
      UPLOADS_PER_MINUTE: '0',
      USER_QUOTA_BYTES: '-1',
      VOICE_MAX_SECONDS: '1.5',
      FILE_RETENTION_AFTER_DELETE: 'soon',
      STORAGE_DRIVER: 's3',
      S3_PUBLIC_ENDPOINT: 'ftp://x',
    });
    for (const name of [
      'FILE_MAX_BYTES',
      'UPLOADS_PER_MINUTE',
      'USER_QUOTA_BYTES',
      'VOICE_MAX_SECONDS',
      'FILE_RETENTION_AFTER_DELETE',
      'S3_PUBLIC_ENDPOINT',
      'S3_BUCKET',
    ]) {
      expect(
        found.some((p) => p.startsWith(`${name}:`)),
        name,
      ).toBe(true);
    }
  });
});
