// External conversations in a browser: an inbox member sees SMS and e-mail threads with a channel badge and the
// outside address as the name, and a reply written in the page goes out through the provider (the simulator).
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChannelRig,
  channelRig,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
} from '../modules/channels/channels-helpers.js';
import { haveChromium, launchBrowser } from './e2e.js';
import { shot, WAIT } from './ui.js';

const CUSTOMER = '+15557654321';

describe.runIf(haveChromium || process.env.CI)('external conversations in the web client', () => {
  let rig: ChannelRig;
  let browser: Browser;
  beforeAll(async () => {
    rig = await channelRig();
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  });

  it('shows SMS and e-mail threads with their channel, and sends a reply from the page', async () => {
    const { app, agent } = rig;
    const sms = await send(app, agent, randomUUID(), {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: CUSTOMER,
      body: 'Your order has shipped',
    });
    expect(sms.statusCode, sms.body).toBe(202);
    const mail = await send(app, agent, randomUUID(), {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'customer@example.com',
      subject: 'Your ticket',
      body: 'Thanks for writing',
    });
    expect(mail.statusCode, mail.body).toBe(202);

    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${rig.publicUrl}/favicon.ico`);
    const tokens = {
      access_token: agent.token,
      refresh_token: 'none',
      token_type: 'Bearer',
      expires_in: 900,
    };
    await page.evaluate(`localStorage.setItem('tma.tokens', ${JSON.stringify(JSON.stringify(tokens))})`);
    await page.goto(rig.publicUrl);

    const smsRow = page.getByRole('button', { name: new RegExp(`^\\${CUSTOMER}.*via SMS`) });
    await smsRow.waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: /^customer@example\.com.*via Email/ }).waitFor({ timeout: WAIT });
    await smsRow.click();
    await page.getByRole('heading', { name: `${CUSTOMER} via SMS` }).waitFor({ timeout: WAIT });
    await page.getByText(`Outside contact, through ${TEAM_NUMBER}`).waitFor({ timeout: WAIT });
    await page.getByText('Your order has shipped', { exact: true }).waitFor({ timeout: WAIT });

    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('It should arrive tomorrow');
    await box.press('Enter');
    const log = page.getByRole('log', { name: 'Messages' });
    await log
      .locator('li.message:not(.pending)', { hasText: 'It should arrive tomorrow' })
      .waitFor({ timeout: WAIT });
    await shot(page, 'external');

    const conversationId = new URL(page.url()).pathname.split('/').at(-1)!;
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}`,
      headers: agent.headers,
    });
    const bodies = (res.json().data as Array<{ body: string; direction: string }>).map((m) => m.body);
    expect(bodies).toContain('It should arrive tomorrow');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
