// Logs: JSON lines unless stdout is a terminal (short pretty lines then, never in tests); polls at debug.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { sharedBackends, testConfig } from '../helpers/app.js';

interface LogLine {
  level: number;
  msg: string;
  route?: string | null;
  status?: number;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const DEBUG = 20;
const INFO = 30;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The real app with a debug-level logger whose lines are collected. */
async function appWithLog(): Promise<{ app: FastifyInstance; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const config = testConfig({}, await sharedBackends());
  const pgliteTemplate = config.databaseUrl
    ? undefined
    : new Blob([readFileSync(inject('pgliteTemplatePath'))]);
  const app = await buildApp(config, { logger: pino({ level: 'debug' }, sink), pgliteTemplate });
  return { app, lines };
}

const requestLine = (lines: LogLine[], route: string) =>
  lines.find((line) => line.msg === 'request' && line.route === route);

describe('request log', () => {
  let logged: { app: FastifyInstance; lines: LogLine[] };
  beforeAll(async () => {
    logged = await appWithLog();
  });
  afterAll(async () => {
    await logged.app.close();
  });

  it('logs /health and /health/ready polls at debug, other requests at info', async () => {
    const { app, lines } = logged;
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: '/health/ready' });
    await app.inject({ method: 'GET', url: '/metrics' });
    await app.inject({ method: 'GET', url: '/api/v1/conversations' });
    await vi.waitFor(() => expect(requestLine(lines, '/api/v1/conversations')).toBeDefined());

    expect(requestLine(lines, '/health')?.level).toBe(DEBUG);
    expect(requestLine(lines, '/health/ready')?.level).toBe(DEBUG);
    expect(requestLine(lines, '/metrics')?.level).toBe(DEBUG);
    expect(requestLine(lines, '/api/v1/conversations')).toMatchObject({ level: INFO, status: 401 });
  });
});

describe('createLogger', () => {
  const captureStdout = () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    return written;
  };
  const request = {
    reqId: 'a1b2c3',
    method: 'GET',
    route: '/api/v1/conversations',
    url: '/api/v1/conversations',
    status: 200,
    ms: 4.12,
    user_id: 'u1',
  };

  it('writes short pretty lines on a terminal', () => {
    const written = captureStdout();
    const logger = createLogger(testConfig({ ENVIRONMENT: 'development', LOG_LEVEL: 'info' }), true);
    logger.info(request, 'request');
    logger.info({ body: { password: 'hunter2' } }, 'login');

    expect(written).toHaveLength(2);
    const [line, login] = written as [string, string];
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toContain('GET /api/v1/conversations 200 4.12 ms');
    expect(line).toContain('u1');
    expect(line).not.toContain('a1b2c3');
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(login).toContain('[redacted]');
    expect(login).not.toContain('hunter2');
  });

  it('writes JSON lines when stdout is not a terminal, and in tests even on a terminal', () => {
    // A child process whose stdout is a pipe: the default (process.stdout.isTTY) is used as is.
    const code = [
      "import { createLogger } from './src/logger.ts';",
      "import { loadConfig } from './src/config.ts';",
      "createLogger(loadConfig({ ENVIRONMENT: 'development' })).info({ status: 200 }, 'piped');",
      "createLogger(loadConfig({ ENVIRONMENT: 'test' }), true).info({ status: 200 }, 'test on a terminal');",
    ].join('\n');
    const child = spawnSync(TSX, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const lines = child.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LogLine);
    expect(lines).toMatchObject([
      { level: INFO, msg: 'piped', status: 200 },
      { level: INFO, msg: 'test on a terminal', status: 200 },
    ]);
  });
});
