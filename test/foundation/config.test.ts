import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnvironment } from '../../src/config.js';
import { resolveJwtSecret } from '../../src/identity/jwt-secret.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives working defaults with no configuration (embedded, local accounts)', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.authMode).toBe('local');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.bodyLimitBytes).toBe(10 * 1024 * 1024);
    expect(config.editWindowSeconds).toBe(48 * 3600);
    expect(config.dataDir).toMatch(/data$/);
  });

  it('reports every problem at once, naming each variable', () => {
    const list = problems({
      DATABASE_URL: 'mysql://nope',
      JWT_SECRET: 'short',
      AUTH_MODE: 'tms',
      PORT: 'eighty',
      REDIS_URL: 'not a url',
      DEBUG: 'maybe',
    });
    expect(list.some((p) => p.startsWith('DATABASE_URL:'))).toBe(true);
    expect(list.some((p) => p.startsWith('JWT_SECRET:') && p.includes('32'))).toBe(true);
    expect(list.some((p) => p.startsWith('TMS_API_URL:') && p.includes('required'))).toBe(true);
    expect(list.some((p) => p.startsWith('PORT:'))).toBe(true);
    expect(list.some((p) => p.startsWith('REDIS_URL:'))).toBe(true);
    expect(list.some((p) => p.startsWith('DEBUG:'))).toBe(true);
  });

  it('requires a JWT secret with PostgreSQL in local mode', () => {
    expect(problems({ DATABASE_URL: 'postgres://localhost/tma' })).toEqual([
      'JWT_SECRET: required with DATABASE_URL (every instance must sign with the same secret)',
    ]);
  });

  it('validates enumerations, durations, lists and the TMS role map', () => {
    expect(problems({ AUTH_MODE: 'ldap' })[0]).toMatch(/^AUTH_MODE: must be one of local, tms/);
    expect(problems({ EDIT_WINDOW: 'forever' })[0]).toMatch(/^EDIT_WINDOW:/);
    expect(loadConfig({ EDIT_WINDOW: '30m' }).editWindowSeconds).toBe(1800);
    expect(loadConfig({ EDIT_WINDOW: '2d' }).editWindowSeconds).toBe(172800);
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://a.example, https://b.example' }).allowedOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    const tms = {
      AUTH_MODE: 'tms',
      TMS_API_URL: 'http://tms.local/api/',
      JWT_SECRET: 'x'.repeat(32),
    };
    expect(problems({ ...tms, TMS_ROLE_MAP: '{"boss":"king"}' })[0]).toMatch(/^TMS_ROLE_MAP:/);
    const config = loadConfig({ ...tms, TMS_ROLE_MAP: '{"boss":"admin"}' });
    expect(config.tms?.apiUrl).toBe('http://tms.local/api');
    expect(config.tms?.roleMap).toEqual({ boss: 'admin' });
    expect(problems({ AUTH_MODE: 'tms', TMS_API_URL: 'http://tms.local' })[0]).toMatch(
      /^JWT_SECRET: required when AUTH_MODE=tms/,
    );
  });

  it('checks S3 settings only when the S3 driver is chosen', () => {
    expect(problems({ STORAGE_DRIVER: 's3' }).map((p) => p.split(':')[0])).toEqual([
      'S3_BUCKET',
      'S3_ACCESS_KEY_ID',
      'S3_SECRET_ACCESS_KEY',
    ]);
    expect(problems({ STORAGE_DRIVER: 'local' })).toEqual([]);
  });

  it('reads a .env file under the real environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tma-env-'));
    writeFileSync(join(dir, '.env'), 'PORT=9001\nLOG_LEVEL=warn\n');
    const env = readEnvironment(dir, { PORT: '9002' });
    expect(env.PORT).toBe('9002');
    expect(env.LOG_LEVEL).toBe('warn');
    expect(readEnvironment(join(dir, 'missing'), { A: '1' })).toEqual({ A: '1' });
  });
});

describe('JWT secret in embedded mode', () => {
  it('is generated once and kept in the data directory', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tma-secret-'));
    const config = { ...loadConfig({ DATA_DIR: dataDir }) };
    const first = resolveJwtSecret(config);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(resolveJwtSecret(config)).toBe(first);
    expect(resolveJwtSecret({ ...config, jwtSecret: 'y'.repeat(40) })).toBe('y'.repeat(40));
  });
});
