// Helpers for the screen tests: the app on a real port, people made over REST (fast, no browser), one signed-in
// browser page per person who needs one, and screenshots for docs/screenshots.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { launchBrowser } from './e2e.js';

export const WAIT = 15_000;
const PASSWORD = 'Quiet-Harbor-Lantern-42';
const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');

export interface Person {
  id: string;
  username: string;
  tokens: Record<string, unknown> & { access_token: string };
  /** A REST call as this person: the JSON envelope and the status. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }>;
}

export interface Screen {
  context: BrowserContext;
  page: Page;
  errors: string[];
  external: string[];
}

export class WebTest {
  app!: FastifyInstance;
  url!: string;
  browser!: Browser;
  private readonly screens: Screen[] = [];

  async start(env: Record<string, string> = {}, browserArgs: string[] = []): Promise<void> {
    this.app = await buildTestApp(env);
    this.url = await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.browser = await launchBrowser(browserArgs);
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.app?.close();
  }

  async person(name: string): Promise<Person> {
    const username = `${name}_${randomBytes(3).toString('hex')}`;
    const post = (path: string, body: unknown) =>
      fetch(`${this.url}/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/auth/register', { username, password: PASSWORD })).status).toBe(201);
    const login = (await (await post('/auth/login', { username, password: PASSWORD })).json()) as {
      data: Person['tokens'] & { user: { id: string } };
    };
    const tokens = login.data;
    const call = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${this.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${tokens.access_token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as { data: T };
      return { status: res.status, data: json.data };
    };
    return { id: tokens.user.id, username, tokens, call };
  }

  /** A browser page signed in as this person (tokens put where the client keeps them), at `path`. */
  async open(
    who: Person,
    path = '/',
    options: { width?: number; height?: number; dark?: boolean; init?: string; permissions?: string[] } = {},
  ): Promise<Screen> {
    const context = await this.browser.newContext({
      viewport: { width: options.width ?? 1100, height: options.height ?? 720 },
      colorScheme: options.dark ? 'dark' : 'light',
      permissions: options.permissions ?? [],
    });
    if (options.init) await context.addInitScript(options.init);
    const page = await context.newPage();
    const screen: Screen = { context, page, errors: [], external: [] };
    page.on('pageerror', (error) => screen.errors.push(error.message));
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(this.url) && !url.startsWith('data:') && !url.startsWith('blob:'))
        screen.external.push(url);
    });
    await page.goto(`${this.url}/favicon.ico`);
    await page.evaluate(`localStorage.setItem('tma.tokens', ${JSON.stringify(JSON.stringify(who.tokens))})`);
    await page.goto(`${this.url}${path}`);
    await page.locator('.frame').waitFor({ timeout: WAIT }); // signed in: the shell is up
    this.screens.push(screen);
    return screen;
  }

  /** Every page stayed free of script errors and of requests to other hosts. */
  expectClean(): void {
    expect(this.screens.flatMap((s) => s.errors)).toEqual([]);
    expect(this.screens.flatMap((s) => s.external)).toEqual([]);
  }
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`) });
}

/** A DM or group between these people, made by the first over REST; its id. */
export async function conversation(owner: Person, others: Person[], name?: string): Promise<string> {
  const body =
    others.length === 1 && !name
      ? { type: 'dm', member_ids: others.map((o) => o.id) }
      : { type: 'group', member_ids: others.map((o) => o.id), ...(name ? { name } : {}) };
  const res = await owner.call<{ id: string }>('POST', '/conversations', body);
  expect(res.status).toBeLessThan(300);
  return res.data.id;
}

export async function say(who: Person, conversationId: string, content: string): Promise<{ id: string }> {
  const res = await who.call<{ id: string }>('POST', `/conversations/${conversationId}/messages`, {
    content,
  });
  expect(res.status).toBe(201);
  return res.data;
}
