// TMS-mode helpers: a real TMS simulator over HTTP and a TMA app configured against it.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config.js';
import { type TmsIdentity, tmsIdentityOf } from '../../src/identity/tms.module.js';
import {
  type MintOptions,
  startTmsSimulator,
  type TmsSimulator,
  type TmsSimulatorOptions,
} from '../../src/tms-simulator/simulator.js';
import { buildTestApp } from './app.js';

export type { TmsSimulator };

export const TMS_TEST_ISSUER = 'https://tms.test';
export const TMS_TEST_AUDIENCE = 'tma';
export const TMS_TEST_WEBHOOK_SECRET = 'tms-test-webhook-secret';

/** A simulator on a free port with the test issuer, audience and webhook secret. */
export function startTestTms(options: TmsSimulatorOptions = {}): Promise<TmsSimulator> {
  return startTmsSimulator({
    issuer: TMS_TEST_ISSUER,
    audience: TMS_TEST_AUDIENCE,
    webhookSecret: TMS_TEST_WEBHOOK_SECRET,
    apiKey: 'tms-test-api-key',
    ...options,
  });
}

/** TMA in AUTH_MODE=tms against `sim` (HS256 with the simulator's secret, plus its JWKS). */
export function buildTmsApp(
  sim: TmsSimulator,
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
): Promise<FastifyInstance> {
  return buildTestApp(
    {
      AUTH_MODE: 'tms',
      TMS_API_URL: sim.url,
      TMS_API_KEY: 'tms-test-api-key',
      TMS_JWKS_URL: sim.jwksUrl,
      TMS_JWT_ISSUER: TMS_TEST_ISSUER,
      TMS_JWT_AUDIENCE: TMS_TEST_AUDIENCE,
      TMS_WEBHOOK_SECRET: TMS_TEST_WEBHOOK_SECRET,
      TMS_JWKS_COOLDOWN_MS: '0',
      TMS_TIMEOUT_MS: '1000',
      JWT_SECRET: sim.jwtSecret,
      ...env,
    },
    overrides,
  );
}

/** `{authorization}` headers with a fresh TMS token for a simulator user. */
export async function tmsHeaders(
  sim: TmsSimulator,
  tmsUserId: string,
  opts: MintOptions = {},
): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await sim.mintToken(tmsUserId, opts)}` };
}

export function tmsIdentity(app: FastifyInstance): TmsIdentity {
  const identity = tmsIdentityOf(app.tma);
  if (!identity) throw new Error('the app is not in AUTH_MODE=tms');
  return identity;
}

/** TMA listening on a free port, for the simulator's webhooks; returns the webhook URL. */
export async function listenForWebhooks(app: FastifyInstance): Promise<string> {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return `${address}/api/v1/webhooks/tms`;
}
