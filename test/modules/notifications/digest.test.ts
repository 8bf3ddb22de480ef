// E-mail digests over SMTP (a local smtp-server): one digest for an offline member with unread messages, none when
// they read in between (checked again just before sending), at most one per interval, and the signed unsubscribe
// link turns digests off without logging in. Workers are off: the test runs the sweep and the delivery itself.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';

let smtp: TestSmtp;
let app: FastifyInstance;
let alice: TestUser;

/** Undoes quoted-printable soft breaks and escapes, enough to read the text part. */
const decoded = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** A moment when everyone created by this test counts as offline for longer than EMAIL_DIGEST_AFTER (1 s). */
const later = () => new Date(Date.now() + 5000);

beforeAll(async () => {
  smtp = await startSmtp();
  app = await buildTestApp({
    JOB_WORKERS: 'false',
    SMTP_URL: smtp.url,
    SMTP_FROM: 'TMA <tma@example.test>',
    EMAIL_DIGEST_AFTER: '1',
    EMAIL_DIGEST_INTERVAL: '1h',
    PUBLIC_URL: 'https://chat.example.test',
  });
  alice = await createUser(app, { displayName: 'Alice' });
});
afterAll(async () => {
  await app.close();
  await smtp?.close();
});

const mailsTo = (user: TestUser) => smtp.mails.filter((m) => m.to.includes(user.user.email as string));

describe('e-mail digests', () => {
  it('mails one digest (text + HTML, unsubscribe link) to an offline member with unread messages', async () => {
    const bob = await createUser(app);
    const dm = await createDm(app, alice, bob);
    await sendMessage(app, alice, dm.id, 'the quarterly numbers are in');

    expect(await app.digests.sweep(later())).toContain(bob.user.id);
    expect(await app.digests.deliver(bob.user.id, later())).toBe(true);
    const [mail] = mailsTo(bob);
    const text = decoded(mail?.raw ?? '');
    expect(text).toMatch(/^Subject: 1 unread message/m);
    expect(text).toContain('text/plain');
    expect(text).toContain('text/html');
    expect(text).toContain('Alice: the quarterly numbers are in');
    expect(mail?.raw).toMatch(
      /List-Unsubscribe:\s+<https:\/\/chat\.example\.test\/api\/v1\/notifications\/unsubscribe\?token=/,
    );
    expect(text).toContain(
      'Stop these e-mails: https://chat.example.test/api/v1/notifications/unsubscribe?token=',
    );

    // At most one per interval: not due again, and a direct attempt sends nothing.
    await sendMessage(app, alice, dm.id, 'and one more thing');
    expect(await app.digests.sweep(later())).not.toContain(bob.user.id);
    expect(await app.digests.deliver(bob.user.id, later())).toBe(false);
    expect(mailsTo(bob)).toHaveLength(1);
  });

  it('sends nothing when the member read in between (checked again just before sending)', async () => {
    const carol = await createUser(app);
    const dm = await createDm(app, alice, carol);
    const message = await sendMessage(app, alice, dm.id, 'did you see this?');
    expect(await app.digests.sweep(later())).toContain(carol.user.id);

    const read = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${dm.id}/read`,
      headers: carol.headers,
      payload: { seq: message.seq },
    });
    expect(read.statusCode, read.body).toBe(200);
    expect(await app.digests.deliver(carol.user.id, later())).toBe(false);
    expect(mailsTo(carol)).toEqual([]);
    expect(await app.digests.sweep(later())).not.toContain(carol.user.id);
  });

  it('skips members who were online recently, and senders', async () => {
    const dave = await createUser(app);
    const dm = await createDm(app, alice, dave);
    await sendMessage(app, alice, dm.id, 'ping');
    // Right now dave has existed for less than EMAIL_DIGEST_AFTER: not offline long enough.
    expect(await app.digests.sweep(new Date())).not.toContain(dave.user.id);
    expect(await app.digests.sweep(later())).not.toContain(alice.user.id);
  });

  it('includes missed calls (an in-app item too)', async () => {
    const frank = await createUser(app);
    const dm = await createDm(app, alice, frank);
    await sendMessage(app, alice, dm.id, 'call me back');
    await app.tma.services.notifications.onMissedCall({
      conversationId: dm.id,
      callerId: alice.user.id,
      media: 'video',
      userIds: [frank.user.id],
      messageId: null,
    });
    const list = await app.inject({ method: 'GET', url: '/api/v1/notifications', headers: frank.headers });
    expect(list.json().data).toMatchObject([
      { kind: 'missed_call', title: 'Alice', body: 'Missed video call' },
    ]);
    expect(await app.digests.deliver(frank.user.id, later())).toBe(true);
    const text = decoded(mailsTo(frank)[0]?.raw ?? '');
    expect(text).toMatch(/^Subject: 1 unread message and 1 missed call/m);
    expect(text).toContain('Missed calls:');
  });

  it('the unsubscribe link turns digests off without logging in; a forged one is refused', async () => {
    const erin = await createUser(app);
    const dm = await createDm(app, alice, erin);
    await sendMessage(app, alice, dm.id, 'first');
    expect(await app.digests.deliver(erin.user.id, later())).toBe(true);
    const link =
      /https:\/\/chat\.example\.test(\/api\/v1\/notifications\/unsubscribe\?token=[A-Za-z0-9._-]+)/.exec(
        mailsTo(erin)[0]?.raw ?? '',
      );
    expect(link).not.toBeNull();
    const path = (link as RegExpExecArray)[1] as string;

    const forged = path.replace(erin.user.id, alice.user.id);
    for (const url of [
      forged,
      `${path}x`,
      '/api/v1/notifications/unsubscribe?token=short',
      '/api/v1/notifications/unsubscribe',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
    }
    const res = await app.inject({ method: 'GET', url: path });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual({ email_digest: false });
    const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: erin.headers });
    expect(me.json().data.settings.notifications.email_digest).toBe(false);

    await app.tma.db.deleteFrom('notification_user_state').where('user_id', '=', erin.user.id).execute();
    await sendMessage(app, alice, dm.id, 'second');
    expect(await app.digests.sweep(later())).not.toContain(erin.user.id);
    expect(await app.digests.deliver(erin.user.id, later())).toBe(false);
  });
});
