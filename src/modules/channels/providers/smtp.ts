// SMTP (nodemailer, loaded with the first send): accepted by the server is `sent`; there are no delivery callbacks.
import type { Transporter } from 'nodemailer';
import { lazy } from '../../../platform/lazy.js';
import type { ChannelProvider, OutboundMessage, SendResult } from './provider.js';
import { ProviderError } from './provider.js';
import type { ProviderConfig } from './provider-config.js';

export class SmtpProvider implements ChannelProvider {
  private transport: Transporter | undefined;
  private readonly connect = lazy(async () => {
    const nodemailer = (await import('nodemailer')).default;
    this.transport = nodemailer.createTransport(this.config.url as string, {
      connectionTimeout: this.config.timeoutMs,
      greetingTimeout: this.config.timeoutMs,
      socketTimeout: this.config.timeoutMs,
    });
    return this.transport;
  });

  constructor(readonly config: ProviderConfig) {}

  async send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult> {
    const transport = await this.connect();
    const sending = transport.sendMail({
      from: message.from,
      to: message.to,
      subject: message.subject || '(no subject)',
      text: message.body,
      messageId: `<${message.id}@tma>`,
      attachments: message.attachments?.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: a.content,
      })),
    });
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true });
    });
    try {
      const info = await Promise.race([sending, aborted]);
      return { providerMessageId: String(info.messageId ?? `<${message.id}@tma>`), status: 'sent' };
    } catch (error) {
      const e = error as { responseCode?: number; message?: string; code?: string };
      const text = `${this.config.name}: ${e.message ?? String(error)}`.slice(0, 300);
      if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
        // 5xx SMTP replies are final: 550 no such user is the message's problem, 535 auth is ours.
        const kind = e.responseCode === 535 || e.responseCode === 530 ? 'provider' : 'permanent';
        throw new ProviderError(kind, text, { status: e.responseCode, code: e.code });
      }
      throw new ProviderError('transient', text, {
        status: e.responseCode,
        code: e.code,
        uncertain: signal.aborted,
      });
    }
  }

  close(): void {
    this.transport?.close();
  }
}
