// 0007_channels: down removes the channel tables and external conversations and restores the type check; up again works.
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../../src/db/database.js';
import { createMigrator, migrateToLatest, unwrap } from '../../../src/db/migrator.js';
import { PGliteDialect } from '../../../src/db/pglite-dialect.js';
import type { DB } from '../../../src/db/schema.js';

let db: Kysely<DB>;
beforeAll(async () => {
  db = new Kysely<DB>({ dialect: new PGliteDialect(await openPglite(undefined)) });
  await migrateToLatest(db);
});
afterAll(async () => {
  await db?.destroy();
});

const tableExists = async (name: string) =>
  (
    await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = ${name}`.execute(db)
  ).rows[0]?.n === 1;

describe('migration 0007_channels', () => {
  it('goes down and up again', async () => {
    expect(await tableExists('channel_messages')).toBe(true);
    await sql`INSERT INTO conversations (id, type, name) VALUES ('01900000-0000-7000-8000-000000000001', 'external', '+15551234567')`.execute(
      db,
    );
    const down = await createMigrator(db).migrateDown();
    expect(unwrap(down)).toEqual(['0007_channels']);
    expect(down.results?.[0]).toMatchObject({
      migrationName: '0007_channels',
      direction: 'Down',
      status: 'Success',
    });
    for (const table of [
      'channel_inboxes',
      'channel_messages',
      'channel_message_events',
      'webhook_logs',
      'channel_opt_outs',
    ]) {
      expect(await tableExists(table), table).toBe(false);
    }
    await expect(
      sql`INSERT INTO conversations (id, type, name) VALUES ('01900000-0000-7000-8000-000000000002', 'external', 'x')`.execute(
        db,
      ),
    ).rejects.toThrow();
    expect(await migrateToLatest(db)).toEqual(['0007_channels']);
    expect(await tableExists('channel_messages')).toBe(true);
  });
});
