// The server process: load config, lock the data directory, migrate, build the app, listen, shut down gracefully.
// Started by src/main.ts (after tracing, when configured).
import { buildApp, createLogger } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DataDirInUseError, type DataDirLock, lockDataDir } from './db/data-dir-lock.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const logger = createLogger(config);

  let lock: DataDirLock | undefined;
  if (!config.databaseUrl) {
    try {
      lock = lockDataDir(config.dataDir);
    } catch (error) {
      if (error instanceof DataDirInUseError) fail(`TMA server: ${error.message}`);
      throw error;
    }
  }

  const database = await openDatabase(config, logger);
  const where = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite at ${config.dataDir}`;
  logger.info(`database: ${where}; checking migrations`);
  const applied = await migrateToLatest(database.db, (name) =>
    logger.info({ migration: name }, `migration applied: ${name}`),
  );
  logger.info(applied.length ? `${applied.length} migration(s) applied` : 'database schema is up to date');

  const app = await buildApp(config, { database, logger });
  app.addHook('onClose', async () => lock?.release());

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight work');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      lock?.release();
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await app.close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      lock?.release();
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const base = `http://${host}:${port}`;
  logger.info(
    {
      api: `${base}/api/v1`,
      docs: `${base}/docs`,
      redoc: `${base}/redoc`,
      openapi: `${base}/openapi.json`,
      health: `${base}/health`,
    },
    `TMA server ready (${config.authMode} accounts, ${where}): API ${base}/api/v1 | docs ${base}/docs | health ${base}/health`,
  );
}

main().catch((error: unknown) => {
  console.error('TMA server failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
