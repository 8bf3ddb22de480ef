// Twilio-compatible Messages API: form-encoded POST, basic auth with the account SID, StatusCallback to PUBLIC_URL.
import type { ChannelProvider, OutboundMessage, SendResult } from './provider.js';
import { httpError, networkError, ProviderError } from './provider.js';
import type { ProviderConfig } from './provider-config.js';

export class TwilioProvider implements ChannelProvider {
  constructor(readonly config: ProviderConfig) {}

  async send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult> {
    const { baseUrl, accountSid, authToken, name } = this.config;
    const form = new URLSearchParams({ To: message.to, From: message.from, Body: message.body });
    for (const url of message.mediaUrls ?? []) form.append('MediaUrl', url);
    if (message.statusCallback) form.set('StatusCallback', message.statusCallback);
    let response: Response;
    try {
      response = await fetch(
        `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid ?? '')}/Messages.json`,
        {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            // Honoured by the simulator (one message per key); the real API has no such header, see docs/channels.md.
            'idempotency-key': message.id,
          },
          body: form.toString(),
          signal,
        },
      );
    } catch (error) {
      throw networkError(name, error, signal);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw httpError(name, response.status, text, response.headers.get('retry-after'));
    try {
      const sid = (JSON.parse(text) as { sid?: unknown }).sid;
      if (typeof sid === 'string' && sid.length > 0) return { providerMessageId: sid, status: 'queued' };
    } catch {
      // fall through
    }
    throw new ProviderError('transient', `${name}: answered ${response.status} without a message sid`, {
      uncertain: true,
    });
  }
}
