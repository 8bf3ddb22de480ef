// `npm run metrics:lint`: the app on an in-memory database, a few requests and socket events so the labelled
// series exist, then its /metrics through `promtool check metrics`; any finding fails the run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { createLogger } from '../src/logger.js';

/** Default metrics must keep their standard names: dashboards look for these. */
const STANDARD = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
];

async function exercise(base: string): Promise<void> {
  const username = `metrics${randomBytes(3).toString('hex')}`;
  const password = `Horse-battery-${randomBytes(6).toString('hex')}`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('/auth/register', { username, password });
  const login = await post('/auth/login', { username, password });
  if (!login.ok) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const { data } = (await login.json()) as { data: { access_token: string } };
  const authorization = `Bearer ${data.access_token}`;
  await fetch(`${base}/api/v1/conversations`, { headers: { authorization } });
  await fetch(`${base}/api/v1/no-such-route`);
  await fetch(`${base}/health`);

  const socket = io(`${base}/messaging`, {
    transports: ['websocket'],
    auth: { token: data.access_token },
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  // A refused event: a refusal by code and a client event time by outcome.
  await socket.timeout(5000).emitWithAck('send_message', { conversation_id: 'nope' });
  socket.close();
}

async function main(): Promise<number> {
  const config = {
    ...loadConfig({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', JWT_SECRET: randomBytes(32).toString('hex') }),
    databaseInMemory: true,
  };
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  await migrateToLatest(database.db);
  const app = await buildApp(config, { database, logger });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address !== 'object') throw new Error('the app is not listening');
    await exercise(`http://127.0.0.1:${address.port}`);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    if (metrics.statusCode !== 200) throw new Error(`/metrics answered ${metrics.statusCode}`);

    const missing = STANDARD.filter((name) => !new RegExp(`^${name}[ {]`, 'm').test(metrics.body));
    if (missing.length > 0) console.error(`standard metrics missing: ${missing.join(', ')}`);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' });
    if (lint.error) throw lint.error;
    const findings = `${lint.stdout}${lint.stderr}`.trim();
    if (findings) console.error(findings);
    const series = metrics.body.split('\n').filter((line) => line && !line.startsWith('#')).length;
    const ok = lint.status === 0 && !findings && missing.length === 0;
    console.log(`metrics:lint: ${series} series, ${ok ? 'promtool check metrics clean' : 'FAILED'}`);
    return ok ? 0 : 1;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
