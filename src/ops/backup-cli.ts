// CLI: npm run backup [-- <directory>]  |  npm run restore -- <directory> [--force]
// PostgreSQL: runs next to live servers (pg_dump is a consistent snapshot). Embedded PGlite: stop the server first.
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { openDatabase } from '../db/database.js';
import { backup, restore } from './backup.js';

const USAGE = 'usage: npm run backup [-- <directory>]  |  npm run restore -- <directory> [--force]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const force = rest.includes('--force');
  const dir = rest.find((a) => !a.startsWith('--'));
  if (command !== 'backup' && command !== 'restore') {
    console.error(USAGE);
    return 2;
  }
  if (command === 'restore' && !dir) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const logger = pino({ level: 'warn' });
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir);
  const open = async () => {
    const database = await openDatabase(config, logger);
    return { db: database.db, close: () => database.close() };
  };
  try {
    if (command === 'backup') {
      const out = dir ?? join('backups', `tma-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      const manifest = await backup(config, out, open);
      const rows = Object.values(manifest.counts).reduce((a, b) => a + b, 0);
      console.log(
        `backup of ${manifest.database} written to ${out}: ${Object.keys(manifest.counts).length} tables, ${rows} rows` +
          (manifest.files === null ? ' (files are in S3: back up the bucket)' : `, ${manifest.files} files`),
      );
      return 0;
    }
    const report = await restore(config, dir as string, open, { force });
    if (report.mismatches.length > 0) {
      console.error(`restore finished with differences:\n  ${report.mismatches.join('\n  ')}`);
      return 1;
    }
    console.log(
      `restored ${report.manifest.database} backup of ${report.manifest.created_at}: counts and event log match`,
    );
    return 0;
  } finally {
    lock?.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else
      console.error(
        `${process.argv[2] ?? 'backup'}: ${error instanceof Error ? error.message : String(error)}`,
      );
    process.exit(1);
  },
);
