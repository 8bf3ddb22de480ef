// TMS webhooks: HMAC-SHA256 over "timestamp.rawBody", a 5-minute window, replayed ids refused, then applied.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../context.js';
import { AppError, ConflictError, ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { markSessionRevoked } from './revocation.js';
import { RevokedSessionsRepository } from './revoked-sessions.repository.js';
import { SessionsRepository } from './sessions.repository.js';
import { type TmsClient, TmsUnavailableError, type TmsUser } from './tms-client.js';
import { type TmsDirectory, tmsUnavailable } from './tms-directory.js';

export const WEBHOOK_WINDOW_S = 300;
/** TMS tokens are not expected to live longer than this; a revoked sid is remembered that long. */
export const TMS_REVOCATION_TTL_S = 86_400;

export interface TmsWebhookEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export interface WebhookOutcome {
  received: true;
  applied: boolean;
}

export class TmsWebhooks {
  private readonly receipts: SessionsRepository;

  constructor(
    private readonly ctx: AppContext,
    private readonly client: TmsClient,
    private readonly directory: TmsDirectory,
  ) {
    this.receipts = new SessionsRepository(ctx.db);
  }

  /** Throws 401 signature_invalid / signature_expired; 503 when no secret is configured. */
  verify(rawBody: string, timestamp: string | undefined, signature: string | undefined): void {
    const secret = this.ctx.config.tms?.webhookSecret;
    if (!secret)
      throw new ServiceUnavailableError('webhooks_disabled', 'TMS_WEBHOOK_SECRET is not configured');
    if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature) {
      throw new UnauthenticatedError('signature_invalid', 'Missing or malformed signature headers');
    }
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`,
    );
    const given = Buffer.from(signature.trim().toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthenticatedError('signature_invalid', 'Webhook signature does not match');
    }
    // Checked after the signature, so the window cannot be probed without the secret.
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > WEBHOOK_WINDOW_S) {
      throw new UnauthenticatedError('signature_expired', 'Webhook timestamp is outside the 5-minute window');
    }
  }

  async handle(event: TmsWebhookEvent): Promise<WebhookOutcome> {
    const receiptId = `tms:${event.id}`;
    if (!(await this.receipts.recordWebhook(receiptId, 'tms'))) {
      throw new ConflictError('Webhook event was already received', 'webhook_replayed');
    }
    try {
      return { received: true, applied: await this.apply(event) };
    } catch (error) {
      // Let TMS redeliver an event we could not apply.
      await this.ctx.db.deleteFrom('webhook_receipts').where('id', '=', receiptId).execute();
      throw error;
    }
  }

  private async apply(event: TmsWebhookEvent): Promise<boolean> {
    const data = event.data;
    const tmsUserId = stringField(data, 'user_id') ?? stringField(data, 'id');
    switch (event.type) {
      case 'user.updated': {
        if (!tmsUserId) throw badData('user_id');
        const profile = isProfile(data.user) ? data.user : await this.fetchProfile(tmsUserId);
        if (!profile) {
          await this.directory.deactivate(tmsUserId);
          return true;
        }
        await this.directory.apply(profile);
        return true;
      }
      case 'user.deactivated':
      case 'user.deleted':
        if (!tmsUserId) throw badData('user_id');
        await this.directory.deactivate(tmsUserId);
        return true;
      case 'session.revoked': {
        const sid = stringField(data, 'session_id') ?? stringField(data, 'sid');
        if (!sid) throw badData('session_id');
        await new RevokedSessionsRepository(this.ctx.db).record(sid, TMS_REVOCATION_TTL_S);
        await markSessionRevoked(this.ctx.cache, sid, TMS_REVOCATION_TTL_S);
        const localId = tmsUserId ? await this.directory.localIdOf(tmsUserId) : undefined;
        if (localId) this.ctx.bus.publish('session.revoked', { session_id: sid, user_id: localId });
        return true;
      }
      default:
        // Newer event types are acknowledged and ignored.
        return false;
    }
  }

  private async fetchProfile(tmsUserId: string): Promise<TmsUser | null> {
    try {
      return await this.client.getUser(tmsUserId);
    } catch (error) {
      if (error instanceof TmsUnavailableError) throw tmsUnavailable();
      throw error;
    }
  }
}

function stringField(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;
}

function isProfile(value: unknown): value is TmsUser {
  const v = value as TmsUser | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.username === 'string';
}

const badData = (field: string) =>
  new AppError(422, 'invalid_webhook', `Webhook data is missing ${field}`, { field: `data.${field}` });
