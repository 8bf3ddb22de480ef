// `npm start` and the migrations CLI as real processes on the embedded database (PGlite).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../src/db/migrator.js';
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

describe('npm start on the embedded default (PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tma-start-'));

  it('creates the data directory, migrates, serves, refuses a second process, and shuts down cleanly', async () => {
    const server = await startServer({ DATA_DIR: dataDir });
    try {
      expect(server.output()).toContain('migration applied: 0001_initial');
      expect(server.output()).toMatch(/"docs":"http:\/\/127\.0\.0\.1:\d+\/docs"/);
      await expectServes(server.baseUrl);
      expect(existsSync(join(dataDir, 'tma.lock'))).toBe(true);

      const second = await runScript('src/main.ts', [], { DATA_DIR: dataDir });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('data directory in use');

      // The first one is unharmed.
      const ready = await fetch(`${server.baseUrl}/health/ready`);
      expect(ready.status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(server.output()).toContain('shutdown complete');
    expect(existsSync(join(dataDir, 'tma.lock'))).toBe(false);

    // Restart on the same data: nothing to migrate, data intact.
    const again = await startServer({ DATA_DIR: dataDir });
    try {
      expect(again.output()).toContain('database schema is up to date');
      await expectServes(again.baseUrl);
    } finally {
      await again.stop();
    }
  }, 180_000);

  it('exits 1 with one message per configuration problem, naming each variable', async () => {
    const result = await runScript('src/main.ts', [], {
      DATA_DIR: dataDir,
      DATABASE_URL: 'mysql://db',
      JWT_SECRET: 'short',
      AUTH_MODE: 'tms',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL: must be a URL starting with postgres: or postgresql:');
    expect(result.stderr).toContain('JWT_SECRET: must be at least 32 characters');
    expect(result.stderr).toContain('TMS_API_URL: required when AUTH_MODE=tms');
  }, 180_000);
});

describe('migrations CLI on PGlite', () => {
  it('reports status, goes down and up again cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tma-migrate-'));
    const env = { DATA_DIR: dataDir };
    const pending = await runScript('src/db/migrate.ts', ['status'], env);
    expect(pending.code).toBe(0);
    expect(pending.stdout).toMatch(/pending\s+0001_initial/);
    const up = await runScript('src/db/migrate.ts', ['up'], env);
    expect(up.stdout).toContain('applied 0001_initial');
    const applied = await runScript('src/db/migrate.ts', ['status'], env);
    expect(applied.stdout).toMatch(/applied\s+0001_initial/);
    const down = await runScript('src/db/migrate.ts', ['down'], env);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`reverted ${NEWEST}`);
    const upAgain = await runScript('src/db/migrate.ts', ['up'], env);
    expect(upAgain.code).toBe(0);
    expect(upAgain.stdout).toContain(`applied ${NEWEST}`);
    const none = await runScript('src/db/migrate.ts', ['to', 'none'], env);
    expect(none.stdout).toContain('reverted 0001_initial');
    const named = await runScript('src/db/migrate.ts', ['to', '0001_initial'], env);
    expect(named.stdout).toContain('applied 0001_initial');
    const bad = await runScript('src/db/migrate.ts', ['sideways'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage');
  }, 180_000);
});
