// Sign-in in TMS mode, in a browser: "Sign in with TMS" goes to the TMS sign-in page (the simulator's), which sends
// the person back with tokens in the fragment; the page takes them only when it started that sign-in (the state),
// clears them from the address bar, and stays signed in across a reload. Local mode hides registration when closed.
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { buildTmsApp, startTestTms, type TmsSimulator } from '../helpers/tms.js';
import { haveChromium, launchBrowser } from './e2e.js';
import { shot, WAIT } from './ui.js';

describe.runIf(haveChromium || process.env.CI)('sign-in through TMS', () => {
  let sim: TmsSimulator;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    sim = await startTestTms();
    app = await buildTmsApp(sim, { TMS_LOGIN_URL: `${sim.url}/login` });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.stop();
  });

  const page = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const p = await context.newPage();
    p.on('pageerror', (error) => errors.push(error.message));
    return p;
  };

  it('signs in through the TMS page, clears the tokens from the address and stays signed in', async () => {
    const p = await page();
    await p.goto(`${url}/`);
    await p.getByRole('heading', { name: 'Sign in to TMA' }).waitFor({ timeout: WAIT });
    expect(await p.getByLabel('Username').count()).toBe(0); // no local form in TMS mode
    await shot(p, 'sign-in-tms');
    await p.getByRole('button', { name: 'Sign in with TMS' }).click();

    await p.waitForURL((u) => u.href.startsWith(`${sim.url}/login`), { timeout: WAIT });
    const asked = new URL(p.url());
    expect(asked.searchParams.get('return_to')).toBe(`${url}/`);
    expect(asked.searchParams.get('state')).toMatch(/^[0-9a-f]{32}$/);
    await p.getByLabel('Person').selectOption('tms-u-3');
    await p.getByRole('button', { name: 'Continue to TMA' }).click();

    await p.locator('.frame').waitFor({ timeout: WAIT });
    await p.locator('.sidebar .me').getByText('Carol', { exact: false }).waitFor({ timeout: WAIT });
    expect(new URL(p.url()).hash).toBe('');
    expect(p.url()).not.toContain('access_token');

    await p.reload();
    await p.locator('.frame').waitFor({ timeout: WAIT });
    await p.locator('.sidebar .me').getByText('Carol', { exact: false }).waitFor({ timeout: WAIT });

    await p.getByRole('button', { name: 'Settings' }).click();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('button', { name: 'Sign in with TMS' }).waitFor({ timeout: WAIT });
    await p.context().close();
  });

  it('refuses a hand-off this page did not start, and one with a token TMA does not accept', async () => {
    const token = await sim.mintToken('tms-u-2');
    const refresh = 'r'.repeat(20);
    const p = await page();
    // Someone else's sign-in link (login CSRF): tokens without the state this tab saved.
    await p.goto(`${url}/#access_token=${token}&refresh_token=${refresh}&expires_in=900&state=abc`);
    await p.getByRole('alert').getByText('not started from this page').waitFor({ timeout: WAIT });
    expect(await p.locator('.frame').count()).toBe(0);
    expect(p.url()).not.toContain('access_token');

    // The state matches, but the token is forged.
    await p.evaluate("sessionStorage.setItem('tma.handoff.state', 'mine')");
    await p.goto(`${url}/favicon.ico`); // a new document: a fragment change alone does not reload the page
    await p.goto(`${url}/#access_token=forged.token.here&refresh_token=${refresh}&expires_in=900&state=mine`);
    await p.getByRole('alert').getByText('TMS sign-in was refused').waitFor({ timeout: WAIT });
    expect(await p.locator('.frame').count()).toBe(0);
    expect(await p.evaluate("localStorage.getItem('tma.tokens')")).toBeNull();

    // No refresh token: incomplete.
    await p.evaluate("sessionStorage.setItem('tma.handoff.state', 'mine')");
    await p.goto(`${url}/favicon.ico`); // a new document: a fragment change alone does not reload the page
    await p.goto(`${url}/#access_token=${token}&state=mine`);
    await p.getByRole('alert').getByText('did not send a complete sign-in').waitFor({ timeout: WAIT });
    await p.context().close();
  });

  it('says where to sign in when the server has no TMS sign-in page', async () => {
    const plain = await buildTmsApp(sim);
    const plainUrl = await plain.listen({ host: '127.0.0.1', port: 0 });
    try {
      const p = await page();
      await p.goto(`${plainUrl}/`);
      await p.getByText('Open TMA from your TMS').waitFor({ timeout: WAIT });
      expect(await p.getByRole('button', { name: 'Sign in with TMS' }).count()).toBe(0);
      await p.context().close();
    } finally {
      await plain.close();
    }
  });

  it('hides account creation when local registration is closed, and asks for an invite code when invite-only', async () => {
    for (const registration of ['closed', 'invite']) {
      const local = await buildTestApp({ REGISTRATION: registration });
      const localUrl = await local.listen({ host: '127.0.0.1', port: 0 });
      try {
        const p = await page();
        await p.goto(`${localUrl}/`);
        await p.getByLabel('Username').waitFor({ timeout: WAIT });
        const create = p.getByRole('button', { name: 'New here? Create an account' });
        if (registration === 'closed') {
          expect(await create.count()).toBe(0);
        } else {
          await create.click();
          await p.getByLabel('Username').fill('newcomer');
          await p.getByLabel('Password').fill('Quiet-Harbor-Lantern-42');
          await p.getByLabel('Invite code').fill('no-such-code');
          await p.getByRole('button', { name: 'Create account' }).click();
          await p.getByRole('alert').waitFor({ timeout: WAIT });
          expect(await p.locator('.frame').count()).toBe(0);
        }
        await p.context().close();
      } finally {
        await local.close();
      }
    }
    expect(errors).toEqual([]);
  });
});
