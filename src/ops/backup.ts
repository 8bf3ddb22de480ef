// Backups of a TMA deployment: the database (pg_dump custom format for PostgreSQL, a PGlite data directory dump for
// the embedded mode) plus the local file store (DATA_DIR/files), with a manifest of table counts and an event-log
// checksum that a restore verifies. S3 buckets are backed up by the store's own tools (docs/operations.md).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Kysely, sql } from 'kysely';
import type { Config } from '../config.js';
import { openPglite, pgliteDataPath } from '../db/database.js';
import type { DB } from '../db/schema.js';

const run = promisify(execFile);

export const MANIFEST = 'manifest.json';
const PG_DUMP_FILE = 'database.dump';
const PGLITE_FILE = 'pglite.tar.gz';
const FILES_DIR = 'files';

export interface BackupManifest {
  format: 1;
  created_at: string;
  database: 'postgres' | 'pglite';
  /** Rows per table of the public schema when the dump was taken. */
  counts: Record<string, number>;
  /** sha256 over the event log (conversation_id, seq, type, message_id) in order. */
  event_log_sha256: string;
  migrations: string[];
  /** Files copied from DATA_DIR/files (local storage driver); null with S3. */
  files: number | null;
}

/** Row counts of every table in the public schema, by name. */
export async function tableCounts(db: Kysely<DB>): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db);
  const counts: Record<string, number> = {};
  for (const { table_name } of tables.rows) {
    const row = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table_name)}`.execute(db);
    counts[table_name] = Number(row.rows[0]?.n ?? 0);
  }
  return counts;
}

/** A checksum of the whole event log, so a restore proves catch-up history survived intact. */
export async function eventLogChecksum(db: Kysely<DB>): Promise<string> {
  const hash = createHash('sha256');
  const rows = await db
    .selectFrom('conversation_events')
    .select(['conversation_id', 'seq', 'type', 'message_id'])
    .orderBy('conversation_id')
    .orderBy('seq')
    .execute();
  for (const r of rows) hash.update(`${r.conversation_id}|${r.seq}|${r.type}|${r.message_id ?? ''}\n`);
  return hash.digest('hex');
}

async function appliedMigrations(db: Kysely<DB>): Promise<string[]> {
  const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return rows.rows.map((r) => r.name);
}

async function describe(db: Kysely<DB>) {
  return {
    counts: await tableCounts(db),
    event_log_sha256: await eventLogChecksum(db),
    migrations: await appliedMigrations(db),
  };
}

/** The major version of a PostgreSQL client tool (pg_dump, pg_restore). */
export async function toolMajor(tool: 'pg_dump' | 'pg_restore'): Promise<number> {
  const { stdout } = await run(tool, ['--version']);
  const match = /(\d+)(?:\.\d+)?/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${tool}: ${stdout.trim()}`);
  return Number(match[1]);
}

async function serverMajor(db: Kysely<DB>): Promise<number> {
  const row = await sql<{ v: string }>`SHOW server_version_num`.execute(db);
  return Math.floor(Number(row.rows[0]?.v) / 10_000);
}

function copyFiles(from: string, to: string): number {
  if (!existsSync(from)) return 0;
  cpSync(from, to, { recursive: true });
  return countFiles(to);
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    n += entry.isDirectory() ? countFiles(join(dir, entry.name)) : 1;
  }
  return n;
}

export interface OpenDb {
  db: Kysely<DB>;
}

/**
 * Writes a backup into `outDir` (created; must be empty). PostgreSQL: pg_dump runs against DATABASE_URL while the
 * servers keep running (a consistent snapshot). PGlite: the data directory must not be in use (stop the server).
 */
export async function backup(
  config: Config,
  outDir: string,
  open: () => Promise<OpenDb & { close(): Promise<void> }>,
): Promise<BackupManifest> {
  mkdirSync(outDir, { recursive: true });
  if (readdirSync(outDir).length > 0) throw new Error(`backup directory ${outDir} is not empty`);
  let database: BackupManifest['database'];
  let described: Awaited<ReturnType<typeof describe>>;
  if (config.databaseUrl) {
    database = 'postgres';
    const opened = await open();
    try {
      const [client, server] = [await toolMajor('pg_dump'), await serverMajor(opened.db)];
      if (client < server) throw new Error(`pg_dump ${client} cannot dump a PostgreSQL ${server} server`);
      // The manifest's counts and pg_dump read the same snapshot, so writes during the backup cannot skew them.
      described = await opened.db.connection().execute(async (conn) => {
        await sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`.execute(conn);
        try {
          const snapshot = await sql<{ id: string }>`SELECT pg_export_snapshot() AS id`.execute(conn);
          const result = await describe(conn);
          await run('pg_dump', [
            '--format=custom',
            '--no-owner',
            '--no-privileges',
            `--snapshot=${snapshot.rows[0]?.id}`,
            `--file=${join(outDir, PG_DUMP_FILE)}`,
            `--dbname=${config.databaseUrl}`,
          ]);
          return result;
        } finally {
          await sql`COMMIT`.execute(conn);
        }
      });
    } finally {
      await opened.close();
    }
  } else {
    database = 'pglite';
    const opened = await open();
    try {
      described = await describe(opened.db);
    } finally {
      await opened.close();
    }
    const client = await openPglite(pgliteDataPath(config));
    try {
      const dump = await client.dumpDataDir('gzip');
      writeFileSync(join(outDir, PGLITE_FILE), Buffer.from(await dump.arrayBuffer()));
    } finally {
      await client.close();
    }
  }
  const files =
    config.storage.driver === 'local'
      ? copyFiles(join(config.dataDir, FILES_DIR), join(outDir, FILES_DIR))
      : null;
  const manifest: BackupManifest = {
    format: 1,
    created_at: new Date().toISOString(),
    database,
    ...described,
    files,
  };
  writeFileSync(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function readManifest(dir: string): BackupManifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new Error(`${dir} has no ${MANIFEST}: not a TMA backup`);
  return JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
}

export interface RestoreReport {
  manifest: BackupManifest;
  counts: Record<string, number>;
  mismatches: string[];
}

/**
 * Restores a backup into the configured, empty database (PostgreSQL: a database with no tables; PGlite: no data
 * directory yet, or `force` to replace it) and DATA_DIR/files, then compares counts and the event log.
 */
export async function restore(
  config: Config,
  dir: string,
  open: () => Promise<OpenDb & { close(): Promise<void> }>,
  options: { force?: boolean } = {},
): Promise<RestoreReport> {
  const manifest = readManifest(dir);
  const wanted = config.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.database !== wanted) {
    throw new Error(`the backup is of ${manifest.database}; the configuration uses ${wanted}`);
  }
  if (config.databaseUrl) {
    const opened = await open();
    try {
      const tables = await tableCounts(opened.db);
      if (Object.keys(tables).length > 0 && !options.force) {
        throw new Error(
          'the target database has tables: restore into a new, empty database (or pass --force)',
        );
      }
    } finally {
      await opened.close();
    }
    await run('pg_restore', [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      ...(options.force ? ['--clean', '--if-exists'] : []),
      `--dbname=${config.databaseUrl}`,
      join(dir, PG_DUMP_FILE),
    ]);
  } else {
    const target = pgliteDataPath(config);
    if (existsSync(target) && readdirSync(target).length > 0) {
      if (!options.force) throw new Error(`${target} exists: restore into a new DATA_DIR (or pass --force)`);
      rmSync(target, { recursive: true, force: true });
    }
    mkdirSync(target, { recursive: true });
    const blob = new Blob([readFileSync(join(dir, PGLITE_FILE))]);
    const client = await openPglite(target, blob);
    await client.close();
  }
  if (manifest.files !== null && existsSync(join(dir, FILES_DIR))) {
    cpSync(join(dir, FILES_DIR), join(config.dataDir, FILES_DIR), { recursive: true });
  }
  const opened = await open();
  try {
    const now = await describe(opened.db);
    const mismatches: string[] = [];
    for (const [table, n] of Object.entries(manifest.counts)) {
      if (now.counts[table] !== n)
        mismatches.push(`${table}: ${n} in the backup, ${now.counts[table] ?? 'missing'} restored`);
    }
    if (now.event_log_sha256 !== manifest.event_log_sha256) mismatches.push('conversation event log differs');
    if (manifest.files !== null && countFiles(join(config.dataDir, FILES_DIR)) < manifest.files) {
      mismatches.push('fewer files restored than backed up');
    }
    return { manifest, counts: now.counts, mismatches };
  } finally {
    await opened.close();
  }
}
