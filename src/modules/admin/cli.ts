// CLI: npm run admin -- create <username> [--password-stdin] | promote <username> | export-user <username> <dir>
// Opens the database like `npm run migrate` (embedded PGlite: stop the server first, it holds the data directory).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../config.js';
import { lockDataDir } from '../../db/data-dir-lock.js';
import { openDatabase } from '../../db/database.js';
import { migrateToLatest } from '../../db/migrator.js';
import { ensureAdmin } from './bootstrap.js';

const USAGE = [
  'usage: npm run admin -- create <username> [--password-stdin]',
  '       npm run admin -- promote <username>',
  '       npm run admin -- export-user <username> <directory>',
].join('\n');

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, username, ...rest] = argv;
  if (
    !command ||
    !username ||
    !['create', 'promote', 'export-user'].includes(command) ||
    !USERNAME.test(username)
  ) {
    console.error(USAGE);
    return 2;
  }
  if (command === 'export-user' && !rest[0]) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  if (config.authMode === 'tms' && command !== 'export-user') {
    console.error('admin: with AUTH_MODE=tms admins come from TMS roles (TMS_ROLE_MAP)');
    return 1;
  }
  const logger = pino({ level: 'warn' });
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir);
  const database = await openDatabase(config, logger);
  try {
    await migrateToLatest(database.db);
    const existing = await database.db
      .selectFrom('users')
      .select(['id', 'role'])
      .where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase()))
      .executeTakeFirst();

    if (command === 'export-user') {
      if (!existing) {
        console.error(`admin: no user ${username}`);
        return 1;
      }
      return await exportUser(config, database, existing.id, rest[0] as string);
    }
    if (command === 'promote' && !existing) {
      console.error(`admin: no user ${username}`);
      return 1;
    }
    if (command === 'create' && existing) {
      console.error(`admin: ${username} exists; use \`npm run admin -- promote ${username}\``);
      return 1;
    }
    let password = randomBytes(18).toString('base64url');
    let generated = true;
    if (command === 'create' && rest.includes('--password-stdin')) {
      password = await readStdin();
      generated = false;
      if (password.length < 8 || password.length > 128) {
        console.error('admin: the password must be 8 to 128 characters');
        return 1;
      }
    }
    const { result } = await ensureAdmin(database.db, { username, password, source: 'cli' });
    console.log(
      `${result === 'created' ? 'created' : result === 'promoted' ? 'promoted' : 'already admin:'} ${username}`,
    );
    if (result === 'created' && generated) console.log(`password: ${password}`);
    return 0;
  } finally {
    await database.close();
    lock?.release();
  }
}

/** export.json (as GET /admin/users/:id/export) and files/<id>-<name> with each uploaded file's bytes. */
async function exportUser(
  config: ReturnType<typeof loadConfig>,
  database: Awaited<ReturnType<typeof openDatabase>>,
  userId: string,
  dir: string,
): Promise<number> {
  // The app's services (file storage, views) without listening; jobs do not run.
  const { createContext } = await import('../../context.js');
  const { AdminService } = await import('./admin.service.js');
  const ctx = await createContext(
    { ...config, jobs: { ...config.jobs, workers: false } },
    {
      logger: pino({ level: 'warn' }),
      database: { ...database, close: async () => {} },
    },
  );
  try {
    const data = await new AdminService(ctx).exportUser(null, userId, { ip: null });
    mkdirSync(join(dir, 'files'), { recursive: true });
    let copied = 0;
    for (const file of data.files) {
      const bytes = await ctx.services.files.deps.storage.read(file.storage_key);
      if (!bytes) continue;
      writeFileSync(join(dir, 'files', `${file.id}-${file.filename.replace(/[/\\\0]/g, '_')}`), bytes);
      copied++;
    }
    writeFileSync(join(dir, 'export.json'), `${JSON.stringify(data, null, 2)}\n`);
    console.log(`exported ${data.messages.length} messages and ${copied} files to ${dir}`);
    return 0;
  } finally {
    await ctx.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`admin: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
