// CLI: npm run migrate -- up | down | status | to <name>
import { NO_MIGRATIONS } from 'kysely';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { openDatabase } from './database.js';
import { createMigrator, migrationStatus, unwrap } from './migrator.js';

const USAGE = 'usage: npm run migrate -- up | down | status | to <name | none>';

async function main(argv: string[]): Promise<number> {
  const [command = 'up', target] = argv;
  if (!['up', 'down', 'status', 'to'].includes(command) || (command === 'to' && !target)) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const logger = pino({ level: 'warn' });
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir);
  const database = await openDatabase(config, logger);
  try {
    const db = database.db;
    const where = config.databaseUrl ? 'PostgreSQL' : `PGlite at ${config.dataDir}`;
    if (command === 'status') {
      const list = await migrationStatus(db);
      console.log(`migrations on ${where}:`);
      for (const m of list) {
        console.log(
          `  ${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  (${m.executedAt.toISOString()})` : ''}`,
        );
      }
      const pending = list.filter((m) => !m.executedAt).length;
      console.log(`${list.length - pending} applied, ${pending} pending`);
      return 0;
    }
    const migrator = createMigrator(db);
    const result =
      command === 'up'
        ? await migrator.migrateToLatest()
        : command === 'down'
          ? await migrator.migrateDown()
          : await migrator.migrateTo(
              target === 'none' || target === '0' ? NO_MIGRATIONS : (target as string),
            );
    const ran = unwrap(result);
    const verb = result.results?.[0]?.direction === 'Down' ? 'reverted' : 'applied';
    for (const name of ran) console.log(`${verb} ${name}`);
    console.log(ran.length === 0 ? 'nothing to do' : `${ran.length} migration(s) ${verb} on ${where}`);
    return 0;
  } finally {
    await database.close();
    lock?.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
