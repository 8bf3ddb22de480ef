// buildTestApp(): the real app on a fresh database (a copy of the migrated template) and, when configured, Redis.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { adminUrl, databaseUrl } from './databases.js';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

let pgliteTemplate: Blob | undefined;

/** A config for tests; `env` is read like process.env, `overrides` patch the result. */
export function testConfig(env: Record<string, string> = {}, overrides: Partial<Config> = {}): Config {
  const config = loadConfig({
    ENVIRONMENT: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ...env,
  });
  return { ...config, databaseInMemory: true, ...overrides };
}

async function createDatabase(): Promise<string> {
  const base = process.env.TEST_DATABASE_URL as string;
  const name = `tma_test_${inject('testRunId')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    // Copying a template fails while another copy is being made from it; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplateDatabase')}`);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  return databaseUrl(base, name);
}

/** Which backends this run uses, for suites that only make sense on PostgreSQL + Redis. */
export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);
export const usingRedis = Boolean(process.env.TEST_REDIS_URL);

/**
 * The same database/Redis settings for several app instances (multi-instance tests): call once,
 * then pass the result as overrides to each buildTestApp.
 */
export async function sharedBackends(): Promise<Partial<Config>> {
  const shared: Partial<Config> = {};
  if (usingPostgres) shared.databaseUrl = await createDatabase();
  if (usingRedis) {
    shared.redisUrl = process.env.TEST_REDIS_URL;
    shared.redisKeyPrefix = `tma-test:${randomBytes(6).toString('hex')}:`;
  }
  return shared;
}

export async function buildTestApp(
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
): Promise<FastifyInstance> {
  const backends = overrides.databaseUrl || overrides.redisUrl ? {} : await sharedBackends();
  const config = testConfig(env, { ...backends, ...overrides });
  if (config.databaseUrl) return buildApp(config);
  pgliteTemplate ??= new Blob([readFileSync(inject('pgliteTemplatePath'))]);
  return buildApp(config, { pgliteTemplate });
}
