// Restore drill on PostgreSQL: pg_dump of a live database with users, conversations, messages and events;
// pg_restore into a new, empty database; table counts and the event log match.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { backup, eventLogChecksum, restore, tableCounts, toolMajor } from '../../src/ops/backup.js';
import { buildTestApp, sharedBackends, testConfig } from '../helpers/app.js';
import { adminUrl, databaseUrl } from '../helpers/databases.js';
import { createGroup, createUser, sendMessage } from '../helpers/factories.js';

const base = process.env.TEST_DATABASE_URL as string;
const logger = pino({ level: 'silent' });
const restoredName = `tma_restore_${randomBytes(5).toString('hex')}`;
let app: FastifyInstance;
let source: Config;
let target: Config;

const opener = (config: Config) => async () => {
  const database = await openDatabase(config, logger);
  return { db: database.db, close: () => database.close() };
};

async function admin(query: string) {
  const client = new pg.Client({ connectionString: adminUrl(base) });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const shared = await sharedBackends();
  app = await buildTestApp({}, shared);
  const [alice, bob] = [await createUser(app), await createUser(app)];
  const group = await createGroup(app, alice, [bob]);
  for (let i = 0; i < 4; i++) await sendMessage(app, alice, group.id, `message ${i}`);
  source = testConfig(
    { DATA_DIR: mkdtempSync(join(tmpdir(), 'tma-pgb-src-')) },
    { databaseUrl: shared.databaseUrl },
  );
  await admin(`CREATE DATABASE ${restoredName}`);
  target = testConfig(
    { DATA_DIR: mkdtempSync(join(tmpdir(), 'tma-pgb-dst-')) },
    { databaseUrl: databaseUrl(base, restoredName) },
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  await admin(`DROP DATABASE IF EXISTS ${restoredName} WITH (FORCE)`);
});

describe('backup and restore on PostgreSQL', () => {
  it('pg_dump is new enough for the server', async () => {
    expect(await toolMajor('pg_dump')).toBeGreaterThanOrEqual(15);
  });

  it('restores a live database into a new one with the same counts and event log', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tma-pgb-out-')), 'backup');
    // Taken while the app (and its job workers) keep running.
    const manifest = await backup(source, out, opener(source));
    expect(manifest.database).toBe('postgres');
    expect(manifest.counts.messages).toBe(4);
    const report = await restore(target, out, opener(target));
    expect(report.mismatches).toEqual([]);
    const restored = await openDatabase(target, logger);
    try {
      expect(await tableCounts(restored.db)).toEqual(manifest.counts);
      expect(await eventLogChecksum(restored.db)).toBe(manifest.event_log_sha256);
      const messages = await restored.db.selectFrom('messages').select('content').orderBy('seq').execute();
      expect(messages.map((m) => m.content)).toEqual(['message 0', 'message 1', 'message 2', 'message 3']);
    } finally {
      await restored.close();
    }
    await expect(restore(target, out, opener(target))).rejects.toThrow(/new, empty database/);
  }, 120_000);
});
