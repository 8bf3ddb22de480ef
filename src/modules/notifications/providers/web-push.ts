// Web Push (RFC 8030/8291/8292) through `web-push`: aes128gcm payloads signed with the server's VAPID keys, which
// come from VAPID_* or are generated once into DATA_DIR/vapid.json (in memory for in-memory test databases).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../config.js';
import { lazy } from '../../../platform/lazy.js';
import type { PushAgents } from '../endpoint-policy.js';
import { outcomeOf, type PushMessage, type PushOutcome } from './push-provider.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

/** web-push and its crypto stack, loaded with the first push. */
const loadWebPush = lazy(async () => (await import('web-push')).default);

/** A P-256 key pair in the VAPID encoding: the uncompressed public point and the private scalar, base64url. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(pub.x ?? '', 'base64url'),
    Buffer.from(pub.y ?? '', 'base64url'),
  ]);
  return { publicKey: point.toString('base64url'), privateKey: priv.d ?? '' };
}

export function resolveVapidKeys(config: Config): VapidKeys {
  const { notifications } = config;
  if (notifications.vapid) return notifications.vapid;
  const subject = notifications.vapidSubject;
  if (config.databaseInMemory) return { ...generateVapidKeys(), subject };
  const file = join(config.dataDir, 'vapid.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
    if (saved.publicKey && saved.privateKey)
      return { publicKey: saved.publicKey, privateKey: saved.privateKey, subject };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const keys = generateVapidKeys();
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return { ...keys, subject };
}

export interface WebSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export class WebPushProvider {
  constructor(
    readonly keys: VapidKeys,
    private readonly agents: PushAgents,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(subscription: WebSubscription, message: PushMessage): Promise<PushOutcome> {
    const payload = JSON.stringify({
      title: message.title,
      body: message.body,
      sound: message.sound,
      ...message.data,
    });
    const webpush = await loadWebPush();
    try {
      const response = await webpush.sendNotification(subscription, payload, {
        vapidDetails: this.keys,
        TTL: 24 * 3600,
        urgency: 'high',
        contentEncoding: 'aes128gcm',
        timeout: this.timeoutMs,
        agent: this.agents.for(subscription.endpoint),
      });
      return outcomeOf(response.statusCode, undefined, '');
    } catch (err) {
      if (err instanceof webpush.WebPushError) {
        const header = err.headers?.['retry-after'];
        return outcomeOf(
          err.statusCode,
          Array.isArray(header) ? header[0] : header,
          `${err.statusCode} ${String(err.body).slice(0, 200)}`,
        );
      }
      const error = err instanceof Error ? err.message : String(err);
      if (/is not allowed/i.test(error))
        return { kind: 'permanent', status: null, error: 'address not allowed' };
      return { kind: 'retry', status: null, retryAfterSeconds: undefined, error: error.slice(0, 200) };
    }
  }
}
