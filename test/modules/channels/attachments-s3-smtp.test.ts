// Outbound files with the S3 storage driver (s3rver): MMS media URLs are the store's own signed URLs, e-mail
// attachments are read from the bucket; SMTP (nodemailer) carries them too; a file gone from storage fails the send.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimMessage } from '../../../src/providers-simulator/model.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';
import { png, uploadReady } from '../files/files-helpers.js';
import { type StorageFixture, startStorage } from '../files/storage-fixture.js';
import {
  type ChannelRig,
  channelRig,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
  waitFor,
  waitForStatus,
} from './channels-helpers.js';

let rig: ChannelRig;
let storage: StorageFixture;
let smtp: TestSmtp;
let image: Buffer;

beforeAll(async () => {
  storage = await startStorage('s3');
  smtp = await startSmtp();
  rig = await channelRig({
    env: { ...storage.env, UPLOADS_PER_MINUTE: '1000' },
    extraProviders: [{ name: 'smtp-local', kind: 'smtp', channels: ['email'], url: smtp.url }],
  });
  image = await png(20, 20);
});
afterAll(async () => {
  await rig?.close();
  await smtp?.close();
  await storage?.stop();
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const uploadImage = () => uploadReady(rig.app, rig.agent, image, { name: 'scan.png' });
const fileRow = (id: string) =>
  rig.app.tma.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('outbound files with the S3 driver', () => {
  it('MMS media is the bucket’s signed URL, fetched by the provider', async () => {
    const file = await uploadImage();
    const res = await send(rig.app, rig.agent, 's3-mms-1', {
      channel: 'mms',
      from: TEAM_NUMBER,
      to: '+15553330001',
      body: 'scan',
      attachments: [file.id],
    });
    expect(res.statusCode, res.body).toBe(202);
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    const sim = await waitFor(async () => {
      const m = rig.simA.messages.get(sent.provider_message_id as string);
      return m?.mediaDone ? m : undefined;
    }, 'the media fetch');
    const url = new URL(sim.mediaUrls[0] as string);
    expect(url.origin).toBe(storage.env.S3_ENDPOINT);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(sim.media[0]).toMatchObject({ status: 200, size: image.length, sha256: sha(image) });
  });

  it('e-mail attachments are read from the bucket', async () => {
    const file = await uploadImage();
    const res = await send(rig.app, rig.agent, 's3-mail-1', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'gus@example.com',
      body: 'scan attached',
      attachments: [file.id],
    });
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    expect(sent.provider).toBe('sg-a');
    const sim = rig.simA.messages.get(sent.provider_message_id as string) as SimMessage;
    expect(sim.files).toEqual([
      {
        filename: 'scan.png',
        type: 'image/png',
        disposition: 'attachment',
        size: image.length,
        sha256: sha(image),
      },
    ]);
  });

  it('a file deleted from storage after the send was accepted fails it with attachment_missing', async () => {
    const file = await uploadImage();
    await rig.app.tma.services.files.deps.storage.delete([(await fileRow(file.id)).storage_key]);
    const before = rig.simA.requests.sendgrid;
    const res = await send(rig.app, rig.agent, 's3-gone-1', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'gus@example.com',
      body: 'scan attached',
      attachments: [file.id],
    });
    expect(res.statusCode).toBe(202);
    const failed = await waitForStatus(rig.app, res.json().data.id, ['failed']);
    expect(failed.error_code).toBe('attachment_missing');
    expect(rig.simA.requests.sendgrid).toBe(before);
  });
});

describe('outbound files over SMTP', () => {
  it('nodemailer carries the attachment (name, type, bytes) when SendGrid is down', async () => {
    const file = await uploadImage();
    rig.simA.setFaults({ down: true });
    try {
      const res = await send(rig.app, rig.agent, 'smtp-att-1', {
        channel: 'email',
        from: TEAM_EMAIL,
        to: 'hana@example.com',
        subject: 'By SMTP',
        body: 'With a scan',
        attachments: [file.id],
      });
      const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
      expect(sent.provider).toBe('smtp-local');
      const mail = await waitFor(
        async () => smtp.mails.find((m) => m.to.includes('hana@example.com')),
        'the SMTP mail',
      );
      expect(mail.raw).toContain('Content-Type: image/png; name=scan.png');
      expect(mail.raw).toContain('Content-Disposition: attachment; filename=scan.png');
      const base64 = mail.raw
        .split('filename=scan.png')[1]
        ?.split(/\r?\n\r?\n/)[1]
        ?.split(/\r?\n--/)[0]
        ?.replace(/\s+/g, '');
      expect(Buffer.from(base64 ?? '', 'base64').equals(image)).toBe(true);
    } finally {
      rig.simA.resetFaults();
    }
  });
});
