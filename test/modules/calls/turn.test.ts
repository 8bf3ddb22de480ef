// Real TURN: Debian's coturn with use-auth-secret accepts the credentials GET /calls/ice-servers mints, and
// refuses an expired one and one signed with another secret (turnutils_uclient allocates a relay and echoes).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iceServersFor } from '../../../src/modules/calls/ice-servers.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';

const TURNSERVER = '/usr/bin/turnserver';
const UCLIENT = '/usr/bin/turnutils_uclient';
const SECRET = 'turn-test-secret-0123456789';
const hasCoturn = existsSync(TURNSERVER) && existsSync(UCLIENT);
if (!hasCoturn) console.warn('[tests] coturn is not installed: the real TURN suite is left out');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Allocates a relay with these credentials and echoes through it; resolves with the client's output. */
function allocate(port: number, username: string, credential: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      UCLIENT,
      [
        '-u',
        username,
        '-w',
        credential,
        '-p',
        String(port),
        '-n',
        '2',
        '-m',
        '1',
        '-y',
        '-e',
        '127.0.0.1',
        '127.0.0.1',
      ],
      { timeout: 20_000 },
      (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
  });
}
const allocated = (out: string) => /tot_recv_msgs=\d+/.test(out) && !/Cannot complete Allocation/.test(out);

describe.runIf(hasCoturn)('TURN credentials against coturn (use-auth-secret)', () => {
  let app: FastifyInstance;
  let user: TestUser;
  let turn: ChildProcess;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'tma-turn-'));
    const minPort = 40_000 + Math.floor(Math.random() * 20_000);
    const log = join(dir, 'turnserver.log');
    const conf = join(dir, 'turnserver.conf');
    writeFileSync(conf, '');
    turn = spawn(
      TURNSERVER,
      [
        '-c',
        conf,
        '--listening-ip=127.0.0.1',
        '--relay-ip=127.0.0.1',
        `--listening-port=${port}`,
        `--min-port=${minPort}`,
        `--max-port=${minPort + 100}`,
        '--use-auth-secret',
        `--static-auth-secret=${SECRET}`,
        '--realm=tma.test',
        '--allow-loopback-peers',
        '--no-cli',
        '--no-tls',
        '--no-dtls',
        `--log-file=${log}`,
        '--simple-log',
        `--pidfile=${join(dir, 'turnserver.pid')}`,
        `--userdb=${join(dir, 'turndb')}`,
      ],
      { stdio: 'ignore' },
    );
    let exited: number | null = null;
    turn.once('exit', (code) => {
      exited = code ?? -1;
    });
    // Ready once its relay threads are up (the log says so); give up after 15 s.
    for (let waited = 0; ; waited += 100) {
      if (exited !== null) throw new Error(`turnserver exited with ${exited}`);
      if (existsSync(log) && /Total General servers/.test(readFileSync(log, 'utf8'))) break;
      if (waited > 15_000) throw new Error('turnserver did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    app = await buildTestApp({
      STUN_URLS: `stun:127.0.0.1:${port}`,
      TURN_URLS: `turn:127.0.0.1:${port}?transport=udp`,
      TURN_SECRET: SECRET,
      TURN_TTL: '10m',
    });
    user = await createUser(app);
  });
  afterAll(async () => {
    turn?.kill('SIGTERM');
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GET /calls/ice-servers mints credentials coturn accepts', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/calls/ice-servers', headers: user.headers });
    expect(res.statusCode, res.body).toBe(200);
    const { ice_servers, expires_at } = res.json().data as {
      ice_servers: Array<{ urls: string[]; username?: string; credential?: string }>;
      expires_at: string;
    };
    expect(ice_servers[0]).toEqual({ urls: [`stun:127.0.0.1:${port}`] });
    const relay = ice_servers[1];
    expect(relay?.username).toMatch(new RegExp(`^\\d+:${user.user.id}$`));
    const expiry = Number(relay?.username?.split(':')[0]);
    expect(new Date(expires_at).getTime()).toBe(expiry * 1000);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(500);
    const out = await allocate(port, relay?.username as string, relay?.credential as string);
    expect(allocated(out), out).toBe(true);
  });

  it('refuses an expired credential and one signed with another secret', async () => {
    const settings = app.tma.config.calls;
    const expired = iceServersFor(settings, user.user.id, Date.now() - 2 * 3600_000).ice_servers[1];
    const old = await allocate(port, expired?.username as string, expired?.credential as string);
    expect(old).toMatch(/Cannot complete Allocation/);
    const forged = iceServersFor({ ...settings, turnSecret: 'another-secret' }, user.user.id).ice_servers[1];
    const wrong = await allocate(port, forged?.username as string, forged?.credential as string);
    expect(wrong).toMatch(/Cannot complete Allocation/);
  });

  it('answers STUN only, without expires_at, when no TURN is configured', async () => {
    const plain = await buildTestApp({ STUN_URLS: 'stun:stun.example.test:3478' });
    try {
      const someone = await createUser(plain);
      const res = await plain.inject({
        method: 'GET',
        url: '/api/v1/calls/ice-servers',
        headers: someone.headers,
      });
      expect(res.json().data).toEqual({
        ice_servers: [{ urls: ['stun:stun.example.test:3478'] }],
        expires_at: null,
      });
      expect((await plain.inject({ method: 'GET', url: '/api/v1/calls/ice-servers' })).statusCode).toBe(401);
    } finally {
      await plain.close();
    }
  });
});
