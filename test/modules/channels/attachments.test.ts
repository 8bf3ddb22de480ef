// Outbound files (local storage driver): MMS media URLs the simulator fetches, SendGrid attachments, the caller's
// own ready files only, MMS types and sizes, the e-mail cap, idempotency, and members' file replies.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimMessage } from '../../../src/providers-simulator/model.js';
import { sendMessage } from '../../helpers/factories.js';
import { png, ticket, uploadReady } from '../files/files-helpers.js';
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

const EMAIL_CAP = 300_000;
let rig: ChannelRig;
let storage: StorageFixture;
let image: Buffer;

beforeAll(async () => {
  storage = await startStorage('local');
  rig = await channelRig({
    env: {
      ...storage.env,
      UPLOADS_PER_MINUTE: '1000',
      CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES: String(EMAIL_CAP),
    },
  });
  image = await png(40, 30);
});
afterAll(async () => {
  await rig?.close();
  await storage?.stop();
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const csv = (bytes: number) => Buffer.from('a,b\n'.repeat(Math.ceil(bytes / 4)).slice(0, bytes));
const uploadImage = (user = rig.agent) => uploadReady(rig.app, user, image, { name: 'photo.png' });
const uploadCsv = (bytes = 64, name = 'table.csv', user = rig.agent) =>
  uploadReady(rig.app, user, csv(bytes), { name, content_type: 'text/csv', kind: 'file' });

/** The simulator's record of a sent message once it fetched every MediaUrl. */
async function simMessage(providerMessageId: string): Promise<SimMessage> {
  return waitFor(async () => {
    const m = rig.simA.messages.get(providerMessageId) ?? rig.simB.messages.get(providerMessageId);
    return m?.mediaDone ? m : undefined;
  }, 'the simulator to fetch the media');
}

const countRows = async (key: string) =>
  (
    await rig.app.tma.db
      .selectFrom('channel_messages')
      .select('id')
      .where('idempotency_key', '=', key)
      .execute()
  ).length;

describe('POST /channels/messages with attachments: MMS', () => {
  it('sends an image as MMS: a signed MediaUrl on PUBLIC_URL that the provider fetches', async () => {
    const file = await uploadImage();
    const res = await send(rig.app, rig.agent, 'mms-1', {
      channel: 'mms',
      from: TEAM_NUMBER,
      to: '+15552220001',
      body: 'The part you asked about',
      attachments: [file.id],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().data.channel).toBe('mms');
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    const sim = await simMessage(sent.provider_message_id as string);
    expect(sim.mediaUrls).toHaveLength(1);
    expect(sim.mediaUrls[0]?.startsWith(`${rig.publicUrl}/api/v1/files/blob/`)).toBe(true);
    expect(sim.media[0]).toMatchObject({
      status: 200,
      contentType: 'image/png',
      size: image.length,
      sha256: sha(image),
    });
    expect(sim.errorCode).toBeUndefined();
    const expires = Number(new URL(sim.mediaUrls[0] as string).searchParams.get('expires'));
    expect(expires - Date.now() / 1000).toBeGreaterThan(800);
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(900);
    // The member sees an image message carrying the file.
    const chat = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/messages/${sent.message_id}`,
      headers: rig.agent.headers,
    });
    expect(chat.json().data.type).toBe('image');
    expect(chat.json().data.content).toBe('The part you asked about');
    expect(chat.json().data.attachments.map((a: { id: string }) => a.id)).toEqual([file.id]);
    const queued = await rig.app.tma.db
      .selectFrom('channel_message_events')
      .select('detail')
      .where('channel_message_id', '=', sent.id)
      .where('status', '=', 'queued')
      .executeTakeFirstOrThrow();
    expect(queued.detail).toMatchObject({ files: [file.id] });
  });

  it('makes an SMS with files an MMS, keeps the order, and takes an empty body', async () => {
    const first = await uploadImage();
    const second = await uploadCsv(100);
    const res = await send(rig.app, rig.agent, 'mms-2', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15552220002',
      body: '',
      attachments: [first.id, second.id],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().data.channel).toBe('mms');
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    const sim = await simMessage(sent.provider_message_id as string);
    expect(sim.media.map((m) => [m.contentType, m.size])).toEqual([
      ['image/png', image.length],
      ['text/csv', 100],
    ]);
    const chat = await rig.app.tma.db
      .selectFrom('messages')
      .select(['type', 'content'])
      .where('id', '=', sent.message_id as string)
      .executeTakeFirstOrThrow();
    expect(chat).toEqual({ type: 'file', content: null });
  });

  it('the provider cannot fetch a file gone from storage: the simulator fails the MMS with 11200', async () => {
    const file = await uploadImage();
    const row = await rig.app.tma.db
      .selectFrom('files')
      .select('storage_key')
      .where('id', '=', file.id)
      .executeTakeFirstOrThrow();
    await rig.app.tma.services.files.deps.storage.delete([row.storage_key]);
    const res = await send(rig.app, rig.agent, 'mms-gone', {
      channel: 'mms',
      from: TEAM_NUMBER,
      to: '+15552220004',
      body: 'gone',
      attachments: [file.id],
    });
    expect(res.statusCode).toBe(202);
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    const sim = await simMessage(sent.provider_message_id as string);
    expect(sim.media[0]?.status).toBe(404);
    expect(sim.errorCode).toBe('11200');
    expect(sim.status).toBe('failed');
  });

  it('refuses a type MMS cannot carry (422) and more than 5 MB together (413), storing nothing', async () => {
    const text = await uploadReady(rig.app, rig.agent, Buffer.from('plain words'), {
      name: 'notes.txt',
      content_type: 'text/plain',
      kind: 'file',
    });
    const payload = { channel: 'mms', from: TEAM_NUMBER, to: '+15552220003', body: 'files' };
    const wrongType = await send(rig.app, rig.agent, 'mms-type', { ...payload, attachments: [text.id] });
    expect(wrongType.statusCode).toBe(422);
    expect(wrongType.json().error.code).toBe('attachment_type_unsupported');
    expect(wrongType.json().error.details).toMatchObject({ file_id: text.id, content_type: 'text/plain' });
    const big = await uploadCsv(3 * 1024 * 1024, 'big-1.csv');
    const big2 = await uploadCsv(3 * 1024 * 1024, 'big-2.csv');
    const tooBig = await send(rig.app, rig.agent, 'mms-big', { ...payload, attachments: [big.id, big2.id] });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('attachments_too_large');
    expect(tooBig.json().error.details).toMatchObject({ max_bytes: 5 * 1024 * 1024 });
    expect(await countRows('mms-type')).toBe(0);
    expect(await countRows('mms-big')).toBe(0);
  });
});

describe('POST /channels/messages with attachments: who may send which file', () => {
  it("refuses another user's file, a pending upload, an unknown id and repeats (422 invalid_attachment)", async () => {
    const theirs = await uploadImage(rig.outsider);
    const pending = await ticket(rig.app, rig.agent, { size: image.length });
    const mine = await uploadImage();
    const payload = { channel: 'mms', from: TEAM_NUMBER, to: '+15552220010', body: 'x' };
    const cases: Array<[string, string[]]> = [
      ['theirs', [theirs.id]],
      ['pending', [pending.file.id]],
      ['unknown', ['01900000-0000-7000-8000-000000000000']],
      ['repeat', [mine.id, mine.id]],
    ];
    for (const [name, attachments] of cases) {
      const res = await send(rig.app, rig.agent, `acl-${name}`, { ...payload, attachments });
      expect(res.statusCode, name).toBe(422);
      expect(res.json().error.code, name).toBe('invalid_attachment');
      expect(await countRows(`acl-${name}`)).toBe(0);
    }
    // Malformed and oversized lists are 400; an outsider of the inbox is 404 before any file is looked at.
    expect(
      (await send(rig.app, rig.agent, 'acl-bad', { ...payload, attachments: ['nope'] })).statusCode,
    ).toBe(400);
    expect((await send(rig.app, rig.agent, 'acl-empty', { ...payload, attachments: [] })).statusCode).toBe(
      400,
    );
    const eleven = Array.from({ length: 11 }, () => mine.id);
    expect((await send(rig.app, rig.agent, 'acl-11', { ...payload, attachments: eleven })).statusCode).toBe(
      400,
    );
    const outsider = await send(rig.app, rig.outsider, 'acl-outsider', {
      ...payload,
      attachments: [theirs.id],
    });
    expect(outsider.statusCode).toBe(404);
  });

  it('a retry with the same key sends once; the same key with other files is 409', async () => {
    const file = await uploadImage();
    const before = rig.simA.requests.twilio + rig.simB.requests.twilio;
    const payload = {
      channel: 'mms',
      from: TEAM_NUMBER,
      to: '+15552220011',
      body: 'once',
      attachments: [file.id],
    };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => send(rig.app, rig.agent, 'mms-idem', payload)),
    );
    for (const res of answers) expect(res.statusCode, res.body).toBe(202);
    expect(new Set(answers.map((r) => r.json().data.id)).size).toBe(1);
    const sent = await waitForStatus(rig.app, answers[0]?.json().data.id, ['sent']);
    expect(rig.simA.requests.twilio + rig.simB.requests.twilio - before).toBe(1);
    const attached = await rig.app.tma.db
      .selectFrom('message_attachments')
      .select('file_id')
      .where('message_id', '=', sent.message_id as string)
      .execute();
    expect(attached).toEqual([{ file_id: file.id }]);
    const other = await uploadImage();
    const reused = await send(rig.app, rig.agent, 'mms-idem', { ...payload, attachments: [other.id] });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error.code).toBe('idempotency_key_reused');
  });
});

describe('POST /channels/messages with attachments: e-mail', () => {
  it('sends files as SendGrid attachments (base64, name and type kept)', async () => {
    const photo = await uploadImage();
    const table = await uploadCsv(2048, 'Q3 figures.csv');
    const res = await send(rig.app, rig.agent, 'mail-att-1', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'erin@example.com',
      subject: 'Your documents',
      body: 'Attached.',
      attachments: [photo.id, table.id],
    });
    expect(res.statusCode, res.body).toBe(202);
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    expect(sent.provider).toBe('sg-a');
    const sim = rig.simA.messages.get(sent.provider_message_id as string) as SimMessage;
    expect(sim.files).toEqual([
      {
        filename: 'photo.png',
        type: 'image/png',
        disposition: 'attachment',
        size: image.length,
        sha256: sha(image),
      },
      {
        filename: 'Q3 figures.csv',
        type: 'text/csv',
        disposition: 'attachment',
        size: 2048,
        sha256: sha(csv(2048)),
      },
    ]);
  });

  it('refuses files over CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES together (413)', async () => {
    const a = await uploadCsv(EMAIL_CAP / 2 + 10, 'a.csv');
    const b = await uploadCsv(EMAIL_CAP / 2 + 10, 'b.csv');
    const res = await send(rig.app, rig.agent, 'mail-big', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'erin@example.com',
      body: 'too much',
      attachments: [a.id, b.id],
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('attachments_too_large');
    expect(res.json().error.details).toMatchObject({ max_bytes: EMAIL_CAP, total_bytes: EMAIL_CAP + 20 });
    expect(await countRows('mail-big')).toBe(0);
  });
});

describe('members’ file replies in external conversations', () => {
  async function threadWith(to: string, channel: 'sms' | 'email'): Promise<string> {
    const res = await send(rig.app, rig.agent, `thread-${to}`, {
      channel,
      from: channel === 'sms' ? TEAM_NUMBER : TEAM_EMAIL,
      to,
      body: 'hello',
    });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().data.conversation_id;
  }

  const outboundOf = (messageId: string) =>
    waitFor(
      async () =>
        rig.app.tma.db
          .selectFrom('channel_messages')
          .selectAll()
          .where('message_id', '=', messageId)
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      'the reply to be sent',
    );

  it('an image reply in an SMS thread goes out as MMS with its media', async () => {
    const conversationId = await threadWith('+15552220020', 'sms');
    const file = await uploadImage();
    const reply = await sendMessage(rig.app, rig.agent, conversationId, {
      type: 'image',
      content: 'Here it is',
      attachments: [file.id],
    });
    const out = await outboundOf(reply.id);
    expect(out.channel).toBe('mms');
    const sim = await simMessage(out.provider_message_id as string);
    expect(sim.body).toBe('Here it is');
    expect(sim.media[0]).toMatchObject({ status: 200, size: image.length, sha256: sha(image) });
  });

  it('a file reply in an e-mail thread goes out as an attachment', async () => {
    const conversationId = await threadWith('fran@example.com', 'email');
    const file = await uploadCsv(300, 'invoice.csv');
    const reply = await sendMessage(rig.app, rig.agent, conversationId, {
      type: 'file',
      attachments: [file.id],
    });
    const out = await outboundOf(reply.id);
    expect(out.channel).toBe('email');
    const sim = rig.simA.messages.get(out.provider_message_id as string) as SimMessage;
    expect(sim.files.map((f) => [f.filename, f.size])).toEqual([['invoice.csv', 300]]);
  });

  it('a reply MMS cannot carry is refused (422) and nothing is stored', async () => {
    const conversationId = await threadWith('+15552220021', 'sms');
    const text = await uploadReady(rig.app, rig.agent, Buffer.from('words'), {
      name: 'notes.txt',
      content_type: 'text/plain',
      kind: 'file',
    });
    const res = await rig.app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: rig.agent.headers,
      payload: { type: 'file', attachments: [text.id] },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('attachment_type_unsupported');
    const stored = await rig.app.tma.db
      .selectFrom('messages')
      .select('id')
      .where('conversation_id', '=', conversationId)
      .execute();
    expect(stored).toHaveLength(1);
  });
});
