// The only reader of process.env: parses, validates and types every setting, reporting all problems at once.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type ProviderConfig, parseChannelProviders } from './modules/channels/providers/provider-config.js';

export type AuthMode = 'local' | 'tms';
export type Environment = 'development' | 'production' | 'test';
export type StorageDriver = 'local' | 's3';

export interface TmsConfig {
  apiUrl: string;
  apiKey: string | undefined;
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  webhookSecret: string | undefined;
  roleMap: Record<string, 'admin' | 'user'>;
  timeoutMs: number;
  cacheTtlSeconds: number;
  syncIntervalSeconds: number;
  /** Minimum gap between JWKS refetches triggered by an unknown `kid`. */
  jwksCooldownMs: number;
  /** The TMS page that signs people in and sends them back to the web client with tokens (docs/identity.md). */
  loginUrl?: string | undefined;
}

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Where clients reach the store when it differs from S3_ENDPOINT (signed URLs use it). */
  publicEndpoint: string | undefined;
}

/** File uploads (DESIGN.md section 14, docs/files.md). */
export interface StorageConfig {
  driver: StorageDriver;
  s3: S3Config | undefined;
  /** Lifetime of signed download URLs. */
  signingTtlSeconds: number;
  fileMaxBytes: number;
  uploadsPerMinute: number;
  /** Per-user total of stored files; undefined is unlimited. */
  userQuotaBytes: number | undefined;
  voiceMaxSeconds: number;
  /** Delay between deleting a message and deleting its files from storage. */
  retentionAfterDeleteSeconds: number;
}

/** Push, e-mail digests and in-app notifications (DESIGN.md section 16, docs/notifications.md). */
export interface NotificationsConfig {
  vapid: { publicKey: string; privateKey: string; subject: string } | undefined;
  vapidSubject: string;
  /** FCM_SERVICE_ACCOUNT: the service account JSON (inline or a file path). */
  fcmServiceAccount: string | undefined;
  fcmBaseUrl: string;
  fcmTokenUrl: string | undefined;
  coalesceMs: number;
  /** Hosts whose private or loopback addresses push endpoints may use (tests, on-premises push services). */
  endpointAllowlist: string[];
  smtpUrl: string | undefined;
  smtpFrom: string;
  digestAfterSeconds: number;
  digestIntervalSeconds: number;
  /** Base URL of this server in e-mails (unsubscribe links); PUBLIC_URL. */
  publicUrl: string | undefined;
}

export interface Config {
  environment: Environment;
  debug: boolean;
  host: string;
  port: number;
  logLevel: string;
  dataDir: string;
  /** PostgreSQL connection string; undefined means embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** In-memory PGlite (tests): no data directory, no lock file. */
  databaseInMemory: boolean;
  redisUrl: string | undefined;
  /** Prefix for every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  authMode: AuthMode;
  /** undefined only in embedded local mode, where a secret is generated and kept in dataDir. */
  jwtSecret: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  tms: TmsConfig | undefined;
  allowedOrigins: string[];
  trustProxy: boolean;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  rateLimitGlobalPerMinute: number;
  authRateLimitPerMinute: number;
  slowQueryMs: number;
  eventRetentionDays: number;
  maxGroupMembers: number;
  editWindowSeconds: number;
  dmRequiresFriendship: boolean;
  shutdownTimeoutMs: number;
  wsTokenInUrl: boolean;
  storage: StorageConfig;
  linkPreviewAllowlist: string[];
  /** Socket.IO and /ws settings (docs/realtime.md). */
  realtime: {
    pingIntervalMs: number;
    pingTimeoutMs: number;
    maxPayloadBytes: number;
    messagesPerSecond: number;
    typingExpireMs: number;
    typingThrottleMs: number;
    presenceTtlMs: number;
    allowPolling: boolean;
  };
  /** Durable job queue (pg-boss): poll interval, and whether this instance runs workers. */
  jobs: { pollIntervalMs: number; workers: boolean };
  /** Calls (docs/calls.md): ring timeout, group size, reconnect grace, STUN/TURN for ICE. */
  calls: {
    ringTimeoutMs: number;
    maxParticipants: number;
    /** A participant whose sockets are all gone this long leaves the call. */
    reconnectGraceMs: number;
    stunUrls: string[];
    turnUrls: string[];
    turnSecret: string | undefined;
    turnTtlSeconds: number;
  };
  /** Who may mention everyone with @all in a group. */
  mentionAll: 'admins' | 'members';
  /** /metrics: a bearer token it requires, and a port of its own instead of the API's. */
  metrics: { token: string | undefined; port: number | undefined };
  notifications: NotificationsConfig;
  /** Who may create a local account: anyone, holders of an admin-created invite code, or nobody. */
  registration: 'open' | 'invite' | 'closed';
  /** TMA_ADMIN_USERNAME/TMA_ADMIN_PASSWORD: the admin seeded at startup (local mode; idempotent). */
  bootstrapAdmin: { username: string; password: string } | undefined;
  /** Retention defaults (days; undefined keeps forever); admins override them at /api/v1/admin/settings/retention. */
  retention: { messageDays: number | undefined; fileDays: number | undefined };
  /** OTEL_EXPORTER_OTLP_ENDPOINT: traces are exported over OTLP/HTTP when set (src/tracing.ts). */
  otlpEndpoint: string | undefined;
  /** External channels (docs/channels.md): providers in priority order, callbacks to PUBLIC_URL. */
  channels: {
    providers: ProviderConfig[];
    /** PUBLIC_URL: where providers reach this server (status callbacks, webhook signature URLs). */
    publicUrl: string | undefined;
    /** POST /channels/messages per user per minute. */
    sendsPerMinute: number;
    /** Days webhook_logs rows are kept. */
    webhookLogDays: number;
    /** CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES: the files of one outbound e-mail together (413 above it). */
    emailAttachmentsMaxBytes: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads `.env` (if present) under the process environment: real variables win. */
export function readEnvironment(cwd = process.cwd(), env: Env = process.env): Env {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return { ...env };
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as Env;
  return { ...fromFile, ...env };
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}: must be one of ${allowed.join(', ')} (got "${value}")`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}: must be a whole number from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name}: must be true or false (got "${value}")`);
    return fallback;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(`${name}: must be a URL starting with ${protocols.join(' or ')}//`);
        return undefined;
      }
      return value;
    } catch {
      this.problems.push(`${name}: is not a valid URL`);
      return undefined;
    }
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  duration(name: string, fallbackSeconds: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallbackSeconds;
    const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value);
    if (!match) {
      this.problems.push(`${name}: must be a duration like 3600, 90s, 30m, 48h or 7d (got "${value}")`);
      return fallbackSeconds;
    }
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return Number(match[1]) * unit;
  }

  roleMap(name: string): Record<string, 'admin' | 'user'> {
    const value = this.raw(name);
    if (value === undefined) return { admin: 'admin' };
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      const map: Record<string, 'admin' | 'user'> = {};
      for (const [k, v] of Object.entries(parsed)) {
        if (v !== 'admin' && v !== 'user') throw new Error();
        map[k] = v;
      }
      return map;
    } catch {
      this.problems.push(`${name}: must be a JSON object mapping TMS roles to "admin" or "user"`);
      return { admin: 'admin' };
    }
  }
}

function notificationsConfig(r: Reader): NotificationsConfig {
  const publicKey = r.raw('VAPID_PUBLIC_KEY');
  const privateKey = r.raw('VAPID_PRIVATE_KEY');
  if ((publicKey === undefined) !== (privateKey === undefined)) {
    r.problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY: set both or neither');
  }
  const vapidSubject = r.string('VAPID_SUBJECT', 'mailto:admin@localhost');
  if (!/^(mailto:|https:\/\/)/.test(vapidSubject)) {
    r.problems.push('VAPID_SUBJECT: must be a mailto: or https:// URL');
  }
  const fcm = r.raw('FCM_SERVICE_ACCOUNT');
  return {
    vapid: publicKey && privateKey ? { publicKey, privateKey, subject: vapidSubject } : undefined,
    vapidSubject,
    fcmServiceAccount: fcm,
    fcmBaseUrl: (r.url('FCM_BASE_URL', ['http:', 'https:']) ?? 'https://fcm.googleapis.com').replace(
      /\/+$/,
      '',
    ),
    fcmTokenUrl: r.url('FCM_TOKEN_URL', ['http:', 'https:']),
    coalesceMs: r.int('PUSH_COALESCE_MS', 5000, 0, 3_600_000),
    endpointAllowlist: r.list('PUSH_ENDPOINT_ALLOWLIST').map((h) => h.toLowerCase()),
    smtpUrl: r.url('SMTP_URL', ['smtp:', 'smtps:']),
    smtpFrom: r.string('SMTP_FROM', 'TMA <no-reply@localhost>'),
    digestAfterSeconds: r.duration('EMAIL_DIGEST_AFTER', 15 * 60),
    digestIntervalSeconds: r.duration('EMAIL_DIGEST_INTERVAL', 3600),
    publicUrl: r.url('PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
  };
}

/** Builds the typed configuration; throws ConfigError listing every problem. */
export function loadConfig(env: Env = readEnvironment()): Config {
  const r = new Reader(env);
  const environment = r.oneOf('ENVIRONMENT', ['development', 'production', 'test'] as const, 'development');
  const authMode = r.oneOf('AUTH_MODE', ['local', 'tms'] as const, 'local');
  const databaseUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:']);

  const jwtSecret = r.raw('JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    r.problems.push('JWT_SECRET: must be at least 32 characters');
  }
  if (jwtSecret === undefined && authMode === 'local' && r.raw('DATABASE_URL') !== undefined) {
    r.problems.push('JWT_SECRET: required with DATABASE_URL (every instance must sign with the same secret)');
  }

  let tms: TmsConfig | undefined;
  if (authMode === 'tms') {
    const apiUrl = r.url('TMS_API_URL', ['http:', 'https:']);
    if (r.raw('TMS_API_URL') === undefined) r.problems.push('TMS_API_URL: required when AUTH_MODE=tms');
    const jwksUrl = r.url('TMS_JWKS_URL', ['http:', 'https:']);
    if (jwtSecret === undefined && r.raw('TMS_JWKS_URL') === undefined) {
      r.problems.push('JWT_SECRET: required when AUTH_MODE=tms without TMS_JWKS_URL (to verify TMS tokens)');
    }
    tms = {
      apiUrl: (apiUrl ?? 'http://invalid').replace(/\/+$/, ''),
      apiKey: r.raw('TMS_API_KEY'),
      jwksUrl,
      issuer: r.raw('TMS_JWT_ISSUER'),
      audience: r.raw('TMS_JWT_AUDIENCE'),
      webhookSecret: r.raw('TMS_WEBHOOK_SECRET'),
      roleMap: r.roleMap('TMS_ROLE_MAP'),
      timeoutMs: r.int('TMS_TIMEOUT_MS', 3000, 100, 60_000),
      cacheTtlSeconds: r.int('TMS_CACHE_TTL_SECONDS', 600, 1),
      syncIntervalSeconds: r.int('TMS_SYNC_INTERVAL_SECONDS', 600, 5),
      jwksCooldownMs: r.int('TMS_JWKS_COOLDOWN_MS', 10_000, 0, 600_000),
      loginUrl: r.url('TMS_LOGIN_URL', ['http:', 'https:']),
    };
  }

  const storageDriver = r.oneOf('STORAGE_DRIVER', ['local', 's3'] as const, 'local');
  let s3: S3Config | undefined;
  if (storageDriver === 's3') {
    for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
      if (r.raw(name) === undefined) r.problems.push(`${name}: required when STORAGE_DRIVER=s3`);
    }
    s3 = {
      endpoint: r.url('S3_ENDPOINT', ['http:', 'https:']),
      region: r.string('S3_REGION', 'us-east-1'),
      bucket: r.string('S3_BUCKET', ''),
      accessKeyId: r.string('S3_ACCESS_KEY_ID', ''),
      secretAccessKey: r.string('S3_SECRET_ACCESS_KEY', ''),
      forcePathStyle: r.bool('S3_FORCE_PATH_STYLE', true),
      publicEndpoint: r.url('S3_PUBLIC_ENDPOINT', ['http:', 'https:']),
    };
  }

  const logLevel = r.oneOf(
    'LOG_LEVEL',
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    r.bool('DEBUG', false) ? 'debug' : 'info',
  );

  const metricsToken = r.raw('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    r.problems.push('METRICS_TOKEN: must be at least 16 characters');
  }
  // 0 picks a free port, like PORT=0.
  const metricsPort = r.raw('METRICS_PORT') === undefined ? undefined : r.int('METRICS_PORT', 0, 0, 65535);

  const config: Config = {
    environment,
    debug: r.bool('DEBUG', false),
    host: r.string('HOST', '0.0.0.0'),
    port: r.int('PORT', 8000, 0, 65535),
    logLevel,
    dataDir: resolve(r.string('DATA_DIR', './data')),
    databaseUrl,
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 500),
    databaseInMemory: false,
    redisUrl,
    redisKeyPrefix: r.string('REDIS_KEY_PREFIX', 'tma:'),
    authMode,
    jwtSecret,
    accessTokenTtlSeconds: r.duration('ACCESS_TOKEN_TTL', 15 * 60),
    refreshTokenTtlSeconds: r.duration('REFRESH_TOKEN_TTL', 30 * 86400),
    tms,
    allowedOrigins: r.list('ALLOWED_ORIGINS'),
    trustProxy: r.bool('TRUST_PROXY', false),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    rateLimitPerMinute: r.int('RATE_LIMIT_PER_MINUTE', 100, 1),
    rateLimitGlobalPerMinute: r.int('RATE_LIMIT_GLOBAL_PER_MINUTE', 1000, 1),
    authRateLimitPerMinute: r.int('AUTH_RATE_LIMIT_PER_MINUTE', 5, 1),
    slowQueryMs: r.int('SLOW_QUERY_MS', 100, 0),
    eventRetentionDays: r.int('EVENT_RETENTION_DAYS', 30, 1),
    maxGroupMembers: r.int('MAX_GROUP_MEMBERS', 1000, 2, 100_000),
    editWindowSeconds: r.duration('EDIT_WINDOW', 48 * 3600),
    dmRequiresFriendship: r.bool('DM_REQUIRES_FRIENDSHIP', false),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0),
    wsTokenInUrl: r.bool('WS_TOKEN_IN_URL', false),
    storage: {
      driver: storageDriver,
      s3,
      signingTtlSeconds: r.int('FILE_URL_TTL_SECONDS', 3600, 60, 7 * 86400),
      fileMaxBytes: r.int('FILE_MAX_BYTES', 10 * 1024 * 1024, 1024, 5 * 1024 * 1024 * 1024),
      uploadsPerMinute: r.int('UPLOADS_PER_MINUTE', 5, 1, 100_000),
      userQuotaBytes: r.raw('USER_QUOTA_BYTES') === undefined ? undefined : r.int('USER_QUOTA_BYTES', 0, 1),
      voiceMaxSeconds: r.int('VOICE_MAX_SECONDS', 300, 1, 3600),
      retentionAfterDeleteSeconds: r.duration('FILE_RETENTION_AFTER_DELETE', 0),
    },
    linkPreviewAllowlist: r.list('LINK_PREVIEW_ALLOWLIST'),
    realtime: {
      pingIntervalMs: r.int('SOCKET_PING_INTERVAL_MS', 25_000, 1000, 300_000),
      pingTimeoutMs: r.int('SOCKET_PING_TIMEOUT_MS', 5_000, 1000, 300_000),
      maxPayloadBytes: r.int('SOCKET_MAX_PAYLOAD_BYTES', 1024 * 1024, 1024, 10 * 1024 * 1024),
      messagesPerSecond: r.int('SOCKET_MESSAGES_PER_SECOND', 10, 1, 10_000),
      typingExpireMs: r.int('TYPING_EXPIRE_MS', 5_000, 500, 60_000),
      typingThrottleMs: r.int('TYPING_THROTTLE_MS', 2_000, 0, 60_000),
      presenceTtlMs: r.int('PRESENCE_TTL_MS', 90_000, 5_000, 3_600_000),
      allowPolling: r.bool('SOCKET_ALLOW_POLLING', false),
    },
    jobs: {
      pollIntervalMs: r.int('JOB_POLL_INTERVAL_MS', 2000, 500, 600_000),
      workers: r.bool('JOB_WORKERS', true),
    },
    calls: {
      ringTimeoutMs: r.int('CALL_RING_TIMEOUT_MS', 45_000, 500, 600_000),
      maxParticipants: r.int('CALL_MAX_PARTICIPANTS', 8, 2, 64),
      reconnectGraceMs: r.int('CALL_RECONNECT_GRACE_MS', 30_000, 500, 600_000),
      stunUrls: r.list('STUN_URLS'),
      turnUrls: r.list('TURN_URLS'),
      turnSecret: r.raw('TURN_SECRET'),
      turnTtlSeconds: r.duration('TURN_TTL', 3600),
    },
    mentionAll: r.oneOf('MENTION_ALL', ['admins', 'members'] as const, 'admins'),
    metrics: { token: metricsToken, port: metricsPort },
    notifications: notificationsConfig(r),
    registration: 'open',
    bootstrapAdmin: undefined,
    retention: { messageDays: undefined, fileDays: undefined },
    otlpEndpoint: undefined,
    channels: {
      providers: [],
      publicUrl: undefined,
      sendsPerMinute: 60,
      webhookLogDays: 30,
      emailAttachmentsMaxBytes: 20 * 1024 * 1024,
    },
  };
  const adminUsername = r.raw('TMA_ADMIN_USERNAME');
  const adminPassword = r.raw('TMA_ADMIN_PASSWORD');
  if ((adminUsername === undefined) !== (adminPassword === undefined)) {
    r.problems.push('TMA_ADMIN_USERNAME and TMA_ADMIN_PASSWORD: set both or neither');
  }
  if (adminUsername !== undefined && !/^[A-Za-z0-9_.-]{3,32}$/.test(adminUsername)) {
    r.problems.push('TMA_ADMIN_USERNAME: 3-32 letters, digits, dots, dashes or underscores');
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 128)) {
    r.problems.push('TMA_ADMIN_PASSWORD: must be 8 to 128 characters');
  }
  const optionalDays = (name: string) => (r.raw(name) === undefined ? undefined : r.int(name, 0, 1, 36_500));
  config.registration = r.oneOf('REGISTRATION', ['open', 'invite', 'closed'] as const, 'open');
  config.bootstrapAdmin =
    adminUsername && adminPassword ? { username: adminUsername, password: adminPassword } : undefined;
  config.retention = {
    messageDays: optionalDays('MESSAGE_RETENTION_DAYS'),
    fileDays: optionalDays('FILE_RETENTION_DAYS'),
  };
  config.otlpEndpoint = r.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  const channelProviders = parseChannelProviders(r.raw('CHANNEL_PROVIDERS'));
  r.problems.push(...channelProviders.problems);
  config.channels = {
    providers: channelProviders.providers,
    publicUrl: config.notifications.publicUrl,
    sendsPerMinute: r.int('CHANNEL_SENDS_PER_MINUTE', 60, 1, 1_000_000),
    webhookLogDays: r.int('WEBHOOK_LOG_RETENTION_DAYS', 30, 1, 3650),
    // Base64 makes 20 MB about 27 MB: under SendGrid's 30 MB per mail, body and headers included.
    emailAttachmentsMaxBytes: r.int(
      'CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES',
      20 * 1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
  };
  if (channelProviders.providers.length > 0 && config.channels.publicUrl === undefined) {
    r.problems.push('PUBLIC_URL: required with CHANNEL_PROVIDERS (providers call back to it)');
  }
  if (metricsPort && metricsPort === config.port) {
    r.problems.push('METRICS_PORT: must differ from PORT (unset serves /metrics on the API port)');
  }

  if (config.calls.turnUrls.length > 0 && config.calls.turnSecret === undefined) {
    r.problems.push('TURN_SECRET: required with TURN_URLS (TMA mints the TURN credentials)');
  }

  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
