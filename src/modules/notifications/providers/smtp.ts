// The digest mailer: nodemailer (loaded with the first mail) over SMTP_URL (plain text + HTML, List-Unsubscribe).
import type { Transporter } from 'nodemailer';
import { lazy } from '../../../platform/lazy.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  unsubscribeUrl: string;
}

export class SmtpMailer {
  private transport: Transporter | undefined;
  private readonly connect = lazy(async () => {
    this.transport = (await import('nodemailer')).default.createTransport(this.url);
    return this.transport;
  });

  constructor(
    private readonly url: string,
    private readonly from: string,
  ) {}

  async send(mail: Mail): Promise<void> {
    const transport = await this.connect();
    await transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: { 'List-Unsubscribe': `<${mail.unsubscribeUrl}>` },
    });
  }

  close(): void {
    this.transport?.close();
  }
}
