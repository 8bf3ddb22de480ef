// `npm start` and the migrations CLI as real processes on PostgreSQL (DATABASE_URL), on a database of their own.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/db/migrator.js';
import { adminUrl, databaseUrl } from '../helpers/databases.js';
import { runScript, startServer } from '../helpers/processes.js';

/** The newest migration: `down` reverts it and `up` applies it again. */
const NEWEST = Object.keys(migrations).sort().at(-1) as string;

async function expectServes(baseUrl: string) {
  const health = await fetch(`${baseUrl}/health`);
  expect(health.status).toBe(200);
  const spec = await fetch(`${baseUrl}/openapi.json`);
  expect(spec.status).toBe(200);
  expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\./);
  expect((await fetch(`${baseUrl}/docs/`)).status).toBe(200);
  expect((await fetch(`${baseUrl}/redoc`)).status).toBe(200);
}

const base = process.env.TEST_DATABASE_URL as string;

describe('with DATABASE_URL (needs PostgreSQL: TEST_DATABASE_URL)', () => {
  const name = `tma_start_${process.pid}_${Date.now().toString(36)}`;
  const url = databaseUrl(base, name);
  const env = {
    DATABASE_URL: url,
    JWT_SECRET: 'z'.repeat(40),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tma-pg-')),
  };

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl(base) });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('migrates a fresh database, serves, round-trips migrations', async () => {
    const admin = new pg.Client({ connectionString: adminUrl(base) });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();

    const server = await startServer(env);
    try {
      expect(server.output()).toContain('migration applied: 0001_initial');
      await expectServes(server.baseUrl);
      // No lock file with PostgreSQL: several instances may share the database.
      const second = await startServer(env);
      await expectServes(second.baseUrl);
      expect(await second.stop()).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }

    const down = await runScript('src/db/migrate.ts', ['down'], env);
    expect(down.stdout).toContain(`reverted ${NEWEST}`);
    const status = await runScript('src/db/migrate.ts', ['status'], env);
    expect(status.stdout).toMatch(new RegExp(`pending\\s+${NEWEST}`));
    const up = await runScript('src/db/migrate.ts', ['up'], env);
    expect(up.stdout).toContain(`applied ${NEWEST}`);
  });
}, 180_000);
