// CHANNEL_PROVIDERS: a JSON list of providers in priority order, validated here (config.ts reports the problems).
import type { ChannelKind } from '../../../db/schema.js';

export type ProviderKind = 'twilio' | 'sendgrid' | 'smtp';

export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  channels: ChannelKind[];
  /** twilio, sendgrid: the API base URL. */
  baseUrl?: string;
  /** twilio */
  accountSid?: string;
  authToken?: string;
  /** sendgrid */
  apiKey?: string;
  /** sendgrid: the Event Webhook's ECDSA P-256 public key (base64 DER or PEM). */
  eventPublicKey?: string;
  /** sendgrid: Inbound Parse posts must carry it as `?token=` (Inbound Parse itself is unsigned). */
  inboundToken?: string;
  /** smtp: smtp:// or smtps:// URL. */
  url?: string;
  timeoutMs: number;
  /** Attempts after the first failure, per send, before failing over. */
  retries: number;
  /** First retry delay; doubles per attempt, with full jitter, capped at 10 s. */
  retryBaseMs: number;
  /** Consecutive failures that open the circuit. */
  breakerThreshold: number;
  /** Open circuit: the time before one probe request is let through. */
  halfOpenAfterMs: number;
}

const KIND_CHANNELS: Record<ProviderKind, ChannelKind[]> = {
  twilio: ['sms', 'mms'],
  sendgrid: ['email'],
  smtp: ['email'],
};
const REQUIRED: Record<ProviderKind, Array<[string, keyof ProviderConfig]>> = {
  twilio: [
    ['base_url', 'baseUrl'],
    ['account_sid', 'accountSid'],
    ['auth_token', 'authToken'],
  ],
  sendgrid: [
    ['base_url', 'baseUrl'],
    ['api_key', 'apiKey'],
  ],
  smtp: [['url', 'url']],
};

function text(entry: Record<string, unknown>, key: string, max = 4096): string | undefined {
  const value = entry[key];
  return typeof value === 'string' && value.trim() !== '' && value.length <= max ? value.trim() : undefined;
}

function whole(
  entry: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
  where: string,
): number {
  const value = entry[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${where}.${key} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

/** Parses and validates CHANNEL_PROVIDERS; every problem names the variable and the entry. */
export function parseChannelProviders(raw: string | undefined): {
  providers: ProviderConfig[];
  problems: string[];
} {
  const problems: string[] = [];
  if (raw === undefined) return { providers: [], problems };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {
      providers: [],
      problems: ['CHANNEL_PROVIDERS: must be a JSON list of providers (not valid JSON)'],
    };
  }
  if (!Array.isArray(parsed)) {
    return { providers: [], problems: ['CHANNEL_PROVIDERS: must be a JSON list (array) of providers'] };
  }
  const providers: ProviderConfig[] = [];
  const names = new Set<string>();
  parsed.forEach((item: unknown, index) => {
    const where = `CHANNEL_PROVIDERS[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${where}: must be an object`);
      return;
    }
    const entry = item as Record<string, unknown>;
    const name = text(entry, 'name', 40);
    if (!name || !/^[A-Za-z0-9_.-]{1,40}$/.test(name)) {
      problems.push(`${where}.name: required, 1-40 letters, digits, dots, dashes or underscores`);
      return;
    }
    if (names.has(name)) problems.push(`${where}.name: "${name}" is used twice`);
    names.add(name);
    const kind = entry.kind;
    if (kind !== 'twilio' && kind !== 'sendgrid' && kind !== 'smtp') {
      problems.push(`${where}.kind: must be one of twilio, sendgrid, smtp`);
      return;
    }
    const allowed = KIND_CHANNELS[kind];
    const channels = Array.isArray(entry.channels) ? entry.channels : undefined;
    if (
      !channels ||
      channels.length === 0 ||
      !channels.every((c) => typeof c === 'string' && (allowed as string[]).includes(c))
    ) {
      problems.push(`${where}.channels: a non-empty list of ${allowed.join(', ')} for kind ${kind}`);
      return;
    }
    const provider: ProviderConfig = {
      name,
      kind,
      channels: [...new Set(channels as ChannelKind[])],
      baseUrl: text(entry, 'base_url')?.replace(/\/+$/, ''),
      accountSid: text(entry, 'account_sid', 200),
      authToken: text(entry, 'auth_token', 200),
      apiKey: text(entry, 'api_key'),
      eventPublicKey: text(entry, 'event_public_key'),
      inboundToken: text(entry, 'inbound_token', 200),
      url: text(entry, 'url'),
      timeoutMs: whole(entry, 'timeout_ms', 5000, 100, 120_000, problems, where),
      retries: whole(entry, 'retries', 2, 0, 10, problems, where),
      retryBaseMs: whole(entry, 'retry_base_ms', 250, 1, 60_000, problems, where),
      breakerThreshold: whole(entry, 'breaker_threshold', 5, 1, 1000, problems, where),
      halfOpenAfterMs: whole(entry, 'half_open_after_ms', 30_000, 10, 3_600_000, problems, where),
    };
    for (const [key, field] of REQUIRED[kind]) {
      if (provider[field] === undefined) problems.push(`${where}.${key}: required for kind ${kind}`);
    }
    for (const [key, value, protocols] of [
      ['base_url', provider.baseUrl, ['http:', 'https:']],
      ['url', provider.url, ['smtp:', 'smtps:']],
    ] as const) {
      if (value === undefined) continue;
      try {
        if (!(protocols as readonly string[]).includes(new URL(value).protocol)) throw new Error();
      } catch {
        problems.push(`${where}.${key}: must be a ${protocols.join(' or ')}// URL`);
      }
    }
    providers.push(provider);
  });
  return { providers, problems };
}
