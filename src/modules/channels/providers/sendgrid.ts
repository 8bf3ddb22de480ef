// SendGrid-compatible v3 mail send: JSON, bearer API key; the X-Message-Id answer header is the provider id.
import type { ChannelProvider, OutboundMessage, SendResult } from './provider.js';
import { httpError, networkError, ProviderError } from './provider.js';
import type { ProviderConfig } from './provider-config.js';

export class SendGridProvider implements ChannelProvider {
  constructor(readonly config: ProviderConfig) {}

  async send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult> {
    const { baseUrl, apiKey, name } = this.config;
    const payload = {
      personalizations: [{ to: [{ email: message.to }], custom_args: { tma_message_id: message.id } }],
      from: { email: message.from },
      subject: message.subject || '(no subject)',
      content: [{ type: 'text/plain', value: message.body || ' ' }],
      ...(message.attachments?.length
        ? {
            attachments: message.attachments.map((a) => ({
              content: a.content.toString('base64'),
              filename: a.filename,
              type: a.contentType,
              disposition: 'attachment',
            })),
          }
        : {}),
    };
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/v3/mail/send`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': message.id,
        },
        body: JSON.stringify(payload),
        signal,
      });
    } catch (error) {
      throw networkError(name, error, signal);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw httpError(name, response.status, text, response.headers.get('retry-after'));
    const id = response.headers.get('x-message-id');
    if (!id) {
      throw new ProviderError('transient', `${name}: answered ${response.status} without X-Message-Id`, {
        uncertain: true,
      });
    }
    return { providerMessageId: id, status: 'queued' };
  }
}
