// FCM HTTP v1: an OAuth2 access token from the service account (a signed JWT exchanged at the token endpoint,
// cached until shortly before it expires), then POST {base}/v1/projects/{project}/messages:send per device.
import { existsSync, readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import { outcomeOf, type PushMessage, type PushOutcome } from './push-provider.js';

export interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri?: string;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** FCM_SERVICE_ACCOUNT holds the JSON itself or a path to it. */
export function parseServiceAccount(value: string): ServiceAccount {
  const text = value.trim().startsWith('{') ? value : existsSync(value) ? readFileSync(value, 'utf8') : '';
  const parsed = JSON.parse(text || 'null') as Partial<ServiceAccount> | null;
  if (!parsed?.project_id || !parsed.client_email || !parsed.private_key) {
    throw new Error('FCM_SERVICE_ACCOUNT: needs project_id, client_email and private_key');
  }
  return parsed as ServiceAccount;
}

export class FcmProvider {
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly account: ServiceAccount,
    private readonly baseUrl: string,
    private readonly tokenUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(token: string, message: PushMessage): Promise<PushOutcome> {
    let access: string;
    try {
      access = await this.accessToken();
    } catch (err) {
      return { kind: 'retry', status: null, retryAfterSeconds: undefined, error: `token: ${errorText(err)}` };
    }
    const body = {
      message: {
        token,
        notification: { title: message.title, body: message.body },
        data: message.data,
        android: { priority: 'high', notification: message.sound ? { sound: 'default' } : {} },
        apns: { payload: { aps: message.sound ? { sound: 'default' } : {} } },
      },
    };
    try {
      const response = await fetch(
        `${this.baseUrl}/v1/projects/${encodeURIComponent(this.account.project_id)}/messages:send`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        },
      );
      const text = response.ok ? '' : (await response.text()).slice(0, 200);
      if (response.status === 401) this.token = undefined;
      return outcomeOf(response.status, response.headers.get('retry-after'), `${response.status} ${text}`);
    } catch (err) {
      return { kind: 'retry', status: null, retryAfterSeconds: undefined, error: errorText(err) };
    }
  }

  /** One token request at a time; reused until a minute before it expires. */
  private accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return Promise.resolve(this.token.value);
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const key = await importPKCS8(this.account.private_key, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.account.client_email)
      .setSubject(this.account.client_email)
      .setAudience(this.tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
    const response = await fetch(this.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
    const json = (await response.json()) as { access_token?: string; expires_in?: number };
    if (!json.access_token) throw new Error('token endpoint answered no access_token');
    this.token = { value: json.access_token, expiresAt: Date.now() + (json.expires_in ?? 3600) * 1000 };
    return json.access_token;
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
