// Inbound MMS media and e-mail attachments copied into file storage (SSRF-safe fetch), and e-mail failover to
// SMTP (a local smtp-server) while the SendGrid-compatible provider is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBinary, LinkFetchError } from '../../../src/modules/link-previews/link-fetcher.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';
import {
  type ChannelRig,
  channelRig,
  INBOUND_TOKEN,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
  waitFor,
  waitForStatus,
} from './channels-helpers.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let rig: ChannelRig;
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
  rig = await channelRig({
    extraProviders: [{ name: 'smtp-local', kind: 'smtp', channels: ['email'], url: smtp.url }],
  });
});
afterAll(async () => {
  await rig?.close();
  await smtp?.close();
});

const attachmentsOf = (messageId: string) =>
  rig.app.tma.db
    .selectFrom('message_attachments as a')
    .innerJoin('files as f', 'f.id', 'a.file_id')
    .select(['f.kind', 'f.mime_type', 'f.status', 'f.size_bytes', 'f.filename', 'f.width'])
    .where('a.message_id', '=', messageId)
    .execute();

describe('inbound media', () => {
  it('stores MMS media in file storage and the members see it as an image message', async () => {
    const res = await rig.simA.sendInboundSms(`${rig.publicUrl}/api/v1/webhooks/twilio/sms`, {
      from: '+15558880001',
      to: TEAM_NUMBER,
      body: 'photo of the damage',
      mediaUrls: [rig.simA.mediaUrl()],
    });
    expect(res.status).toBe(200);
    const row = await waitFor(
      async () =>
        rig.app.tma.db
          .selectFrom('channel_messages')
          .selectAll()
          .where('provider_message_id', '=', res.sid)
          .executeTakeFirst(),
      'the inbound MMS',
    );
    expect(row.channel).toBe('mms');
    const files = await waitFor(async () => {
      const found = await attachmentsOf(row.message_id as string);
      return found.length > 0 ? found : undefined;
    }, 'the media to be stored');
    expect(files).toEqual([
      expect.objectContaining({ kind: 'image', mime_type: 'image/png', status: 'ready', width: 1 }),
    ]);
    const view = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/messages/${row.message_id}`,
      headers: rig.agent.headers,
    });
    expect(view.json().data.type).toBe('image');
    expect(view.json().data.attachments[0].url).toBeTruthy();
    const outsider = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/messages/${row.message_id}`,
      headers: rig.outsider.headers,
    });
    expect(outsider.statusCode).toBe(404);
  });

  it('fetches media through the SSRF-safe fetcher: loopback refused unless allowlisted', async () => {
    await expect(fetchBinary(rig.simA.mediaUrl(), { allowlist: [] })).rejects.toBeInstanceOf(LinkFetchError);
    await expect(fetchBinary(rig.simA.mediaUrl(), { allowlist: [], maxBytes: 10 })).rejects.toMatchObject({
      code: 'refused',
    });
    const ok = await fetchBinary(rig.simA.mediaUrl(), { allowlist: ['127.0.0.1'] });
    expect(ok.body.equals(PNG)).toBe(true);
    await expect(
      fetchBinary(rig.simA.mediaUrl(), { allowlist: ['127.0.0.1'], maxBytes: 10 }),
    ).rejects.toBeInstanceOf(LinkFetchError);
  });

  it('stores e-mail attachments from Inbound Parse', async () => {
    const res = await rig.simA.sendInboundEmail(
      `${rig.publicUrl}/api/v1/webhooks/sendgrid/inbound?token=${INBOUND_TOKEN}`,
      {
        from: 'carl@example.com',
        to: TEAM_EMAIL,
        subject: 'Receipt',
        text: 'See attached',
        attachments: [
          { filename: 'receipt.png', contentType: 'image/png', content: PNG },
          { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('hello') },
        ],
      },
    );
    expect(res.status, res.body).toBe(200);
    const row = await rig.app.tma.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('from_address', '=', 'carl@example.com')
      .executeTakeFirstOrThrow();
    const files = await attachmentsOf(row.message_id as string);
    expect(files.map((f) => f.filename).sort()).toEqual(['notes.txt', 'receipt.png']);
    const message = await rig.app.tma.db
      .selectFrom('messages')
      .select('type')
      .where('id', '=', row.message_id as string)
      .executeTakeFirstOrThrow();
    expect(message.type).toBe('file');
  });
});

describe('e-mail failover to SMTP', () => {
  it('sends through SMTP while the SendGrid-compatible provider is down', async () => {
    rig.simA.setFaults({ down: true });
    try {
      const res = await send(rig.app, rig.agent, 'smtp-1', {
        channel: 'email',
        from: TEAM_EMAIL,
        to: 'dana@example.com',
        subject: 'Fallback',
        body: 'Sent by SMTP',
      });
      const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
      expect(sent.provider).toBe('smtp-local');
      const mail = await waitFor(
        async () => smtp.mails.find((m) => m.to.includes('dana@example.com')),
        'the SMTP mail',
      );
      expect(mail.raw).toContain('Subject: Fallback');
      expect(mail.raw).toContain('Sent by SMTP');
    } finally {
      rig.simA.resetFaults();
    }
  });
});
