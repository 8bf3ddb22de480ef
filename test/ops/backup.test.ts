// Restore drill on embedded PGlite: `npm run backup` of a data directory with users, conversations, messages, events
// and stored files; `npm run restore` into a fresh DATA_DIR; table counts, the event log and the files match.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { eventLogChecksum, readManifest, tableCounts } from '../../src/ops/backup.js';
import { testConfig } from '../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage } from '../helpers/factories.js';
import { runScript } from '../helpers/processes.js';

const logger = pino({ level: 'silent' });
const source = mkdtempSync(join(tmpdir(), 'tma-backup-src-'));
const target = mkdtempSync(join(tmpdir(), 'tma-backup-dst-'));
const out = join(mkdtempSync(join(tmpdir(), 'tma-backup-out-')), 'backup');
let before: { counts: Record<string, number>; events: string };

async function snapshot(dataDir: string) {
  const config = testConfig({ DATA_DIR: dataDir }, { databaseInMemory: false });
  const database = await openDatabase(config, logger);
  try {
    return { counts: await tableCounts(database.db), events: await eventLogChecksum(database.db) };
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  const config = testConfig({ DATA_DIR: source }, { databaseInMemory: false });
  const database = await openDatabase(config, logger);
  await migrateToLatest(database.db);
  const app = await buildApp(config, { database, logger });
  const [alice, bob, carol] = [await createUser(app), await createUser(app), await createUser(app)];
  const group = await createGroup(app, alice, [bob, carol]);
  const dm = await createDm(app, alice, bob);
  for (let i = 0; i < 5; i++) await sendMessage(app, i % 2 ? bob : alice, group.id, `group message ${i}`);
  await sendMessage(app, bob, dm.id, 'a direct message');
  await app.close();
  mkdirSync(join(source, 'files'), { recursive: true });
  writeFileSync(join(source, 'files', 'stored-object.bin'), Buffer.from('file bytes'));
  before = await snapshot(source);
}, 120_000);

describe('npm run backup / npm run restore on PGlite', () => {
  it('backs up the database and the file store with a manifest', async () => {
    const res = await runScript('src/ops/backup-cli.ts', ['backup', out], { DATA_DIR: source });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/backup of pglite written to .*: \d+ tables, \d+ rows, 1 files/);
    const manifest = readManifest(out);
    expect(manifest.database).toBe('pglite');
    expect(manifest.counts).toEqual(before.counts);
    expect(manifest.counts.messages).toBe(6);
    expect(manifest.counts.conversation_events).toBeGreaterThanOrEqual(6);
    expect(manifest.event_log_sha256).toBe(before.events);
    expect(existsSync(join(out, 'pglite.tar.gz'))).toBe(true);
  }, 120_000);

  it('restores into a fresh DATA_DIR: the same counts, event log and files', async () => {
    const res = await runScript('src/ops/backup-cli.ts', ['restore', out], { DATA_DIR: target });
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('counts and event log match');
    const after = await snapshot(target);
    expect(after.counts).toEqual(before.counts);
    expect(after.events).toBe(before.events);
    expect(readFileSync(join(target, 'files', 'stored-object.bin'), 'utf8')).toBe('file bytes');
  }, 120_000);

  it('refuses to restore over an existing database, and a directory that is not a backup', async () => {
    const again = await runScript('src/ops/backup-cli.ts', ['restore', out], { DATA_DIR: target });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('restore into a new DATA_DIR');
    const notBackup = await runScript('src/ops/backup-cli.ts', ['restore', tmpdir()], { DATA_DIR: target });
    expect(notBackup.stderr).toContain('not a TMA backup');
    const usage = await runScript('src/ops/backup-cli.ts', ['restore'], { DATA_DIR: target });
    expect(usage.code).toBe(2);
  }, 120_000);
});
