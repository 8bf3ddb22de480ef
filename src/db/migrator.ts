// Migrations are listed statically so they run the same from TypeScript sources and from the build.
import { type Kysely, type Migration, type MigrationResultSet, Migrator } from 'kysely';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_files.js';
import * as m0003 from './migrations/0003_revoked_sessions.js';
import * as m0004 from './migrations/0004_calls.js';
import * as m0005 from './migrations/0005_notifications.js';
import * as m0006 from './migrations/0006_admin.js';
import * as m0007 from './migrations/0007_channels.js';
import type { DB } from './schema.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_files': m0002,
  '0003_revoked_sessions': m0003,
  '0004_calls': m0004,
  '0005_notifications': m0005,
  '0006_admin': m0006,
  '0007_channels': m0007,
};

export function createMigrator(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

export async function migrationStatus(db: Kysely<DB>): Promise<MigrationStatus[]> {
  const list = await createMigrator(db).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}

/** Throws with the failing migration's name when one fails; returns what ran. */
export function unwrap(result: MigrationResultSet): string[] {
  const ran = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const cause = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed} failed: ${cause}`);
  }
  return ran;
}

export async function migrateToLatest(db: Kysely<DB>, onApplied?: (name: string) => void): Promise<string[]> {
  const ran = unwrap(await createMigrator(db).migrateToLatest());
  for (const name of ran) onApplied?.(name);
  return ran;
}
