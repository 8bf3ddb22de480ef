// Real browsers: two headless Chromium pages log in as two people, signal only through TMA's /calls namespace,
// open an RTCPeerConnection with a data channel and exchange a message; the call is then in both histories with
// its duration.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { listen } from '../../helpers/sockets.js';
import { haveChromium, launchBrowser } from '../../web/e2e.js';

const PASSWORD = 'Quiet-Harbor-Lantern-42';
const WAIT = 30_000;
const clientBundle = readFileSync(
  resolve(import.meta.dirname, '../../../node_modules/socket.io-client/dist/socket.io.min.js'),
  'utf8',
);
if (!haveChromium) console.warn('[tests] Chromium is not installed: the browser call suite is left out');

interface Session {
  token: string;
  userId: string;
}

/** A page of this server with the Socket.IO client loaded, logged in as a new account. */
async function personPage(
  browser: Browser,
  base: string,
  username: string,
): Promise<{ page: Page; session: Session }> {
  // The script is injected by the test, so the server's CSP (script-src 'self') must not stop it.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/health`);
  await page.addScriptTag({ content: clientBundle });
  const session = await page.evaluate(
    async ({ username, password }) => {
      const post = async (url: string, body: unknown) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
        return (await res.json()).data;
      };
      await post('/api/v1/auth/register', { username, password });
      const login = await post('/api/v1/auth/login', { username, password });
      return { token: login.access_token as string, userId: login.user.id as string };
    },
    { username, password: PASSWORD },
  );
  return { page, session };
}

/** Installs the WebRTC side of a call in the page: every signal goes through the /calls socket. */
async function wire(page: Page, token: string): Promise<void> {
  await page.evaluate(async (token) => {
    type Signal = { type: string; sdp?: string; candidate?: RTCIceCandidateInit | null };
    const w = window as unknown as Record<string, unknown> & {
      io: (
        url: string,
        opts: object,
      ) => {
        on(e: string, fn: (p: never) => void): void;
        emitWithAck(e: string, p: unknown): Promise<{ ok: boolean; data?: unknown; error?: unknown }>;
        connected: boolean;
      };
    };
    const socket = w.io('/calls', { auth: { token }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', () => resolve());
      socket.on('connect_error', (err: never) => reject(err));
    });
    const received: string[] = [];
    const events: string[] = [];
    let pc: RTCPeerConnection | undefined;
    let peer = '';
    let callId = '';
    const send = async (signal: Signal) => {
      const ack = await socket.emitWithAck('call_signal', { call_id: callId, to_user_id: peer, signal });
      if (!ack.ok) events.push(`signal refused ${JSON.stringify(ack.error)}`);
    };
    const open = () => {
      const conn = new RTCPeerConnection({ iceServers: [] });
      conn.onicecandidate = (e) =>
        void send({ type: 'candidate', candidate: e.candidate ? e.candidate.toJSON() : null });
      conn.ondatachannel = (e) => {
        e.channel.onmessage = (m) => {
          received.push(String(m.data));
          e.channel.send(`pong:${m.data}`);
        };
      };
      pc = conn;
      return conn;
    };
    socket.on('call_signal', (async (p: { from_user_id: string; signal: Signal }) => {
      peer = p.from_user_id;
      const conn = pc ?? open();
      if (p.signal.type === 'offer') {
        await conn.setRemoteDescription({ type: 'offer', sdp: p.signal.sdp });
        const answer = await conn.createAnswer();
        await conn.setLocalDescription(answer);
        await send({ type: 'answer', sdp: answer.sdp });
      } else if (p.signal.type === 'answer') {
        await conn.setRemoteDescription({ type: 'answer', sdp: p.signal.sdp });
      } else if (p.signal.type === 'candidate' && p.signal.candidate) {
        await conn.addIceCandidate(p.signal.candidate);
      }
    }) as never);
    // The callee answers as soon as it rings.
    socket.on('call_ringing', (async (p: { call: { id: string } }) => {
      events.push('ringing');
      callId = p.call.id;
      const ack = await socket.emitWithAck('call_accept', { call_id: callId });
      events.push(ack.ok ? 'accepted' : `accept refused ${JSON.stringify(ack.error)}`);
    }) as never);
    socket.on('call_ended', ((p: { reason: string }) => void events.push(`ended:${p.reason}`)) as never);
    // The caller offers once the callee accepted.
    socket.on('call_accepted', (async (p: { call: { id: string }; user_id: string }) => {
      events.push('call_accepted');
      callId = p.call.id;
      peer = p.user_id;
      const conn = open();
      const channel = conn.createDataChannel('chat');
      channel.onopen = () => channel.send('hello over webrtc');
      channel.onmessage = (m) => received.push(String(m.data));
      const offer = await conn.createOffer();
      await conn.setLocalDescription(offer);
      await send({ type: 'offer', sdp: offer.sdp });
    }) as never);
    Object.assign(w, {
      callState: { received, events },
      startCall: async (conversationId: string) => {
        const ack = await socket.emitWithAck('call_start', {
          conversation_id: conversationId,
          media: 'audio',
        });
        if (!ack.ok) throw new Error(JSON.stringify(ack.error));
        callId = (ack.data as { call: { id: string } }).call.id;
        return callId;
      },
      endCall: async () => {
        const ack = await socket.emitWithAck('call_end', { call_id: callId });
        pc?.close();
        return ack.ok;
      },
      closePeer: () => pc?.close(),
    });
  }, token);
}

const state = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { callState: { received: string[]; events: string[] } }).callState,
  );

describe.runIf(haveChromium)('a call between two browsers', () => {
  let app: FastifyInstance;
  let browser: Browser;

  beforeAll(async () => {
    app = await buildTestApp();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('signals through /calls, exchanges a data channel message, and records the call with its duration', async () => {
    const base = await listen(app);
    const suffix = Math.random().toString(36).slice(2, 8);
    const alice = await personPage(browser, base, `alice_${suffix}`);
    const bob = await personPage(browser, base, `bob_${suffix}`);
    const dm = await alice.page.evaluate(
      async ({ token, peer }) => {
        const res = await fetch('/api/v1/conversations', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ type: 'dm', member_ids: [peer] }),
        });
        return (await res.json()).data.id as string;
      },
      { token: alice.session.token, peer: bob.session.userId },
    );
    await wire(alice.page, alice.session.token);
    await wire(bob.page, bob.session.token);

    const callId = await alice.page.evaluate(
      (id) => (window as unknown as { startCall(id: string): Promise<string> }).startCall(id),
      dm,
    );
    await bob.page.waitForFunction(
      () => (window as unknown as { callState: { received: string[] } }).callState.received.length > 0,
      undefined,
      { timeout: WAIT },
    );
    await alice.page.waitForFunction(
      () => (window as unknown as { callState: { received: string[] } }).callState.received.length > 0,
      undefined,
      { timeout: WAIT },
    );
    expect((await state(bob.page)).received).toEqual(['hello over webrtc']);
    expect((await state(alice.page)).received).toEqual(['pong:hello over webrtc']);
    expect((await state(bob.page)).events).toEqual(['ringing', 'accepted']);

    expect(
      await alice.page.evaluate(() => (window as unknown as { endCall(): Promise<boolean> }).endCall()),
    ).toBe(true);
    await bob.page.waitForFunction(
      () =>
        (window as unknown as { callState: { events: string[] } }).callState.events.includes(
          'ended:completed',
        ),
      undefined,
      { timeout: WAIT },
    );
    for (const who of [alice, bob]) {
      const calls = await who.page.evaluate(async (token) => {
        const res = await fetch('/api/v1/calls', { headers: { authorization: `Bearer ${token}` } });
        return (await res.json()).data as Array<{ id: string; status: string; duration_ms: number | null }>;
      }, who.session.token);
      expect(calls[0]).toMatchObject({ id: callId, status: 'ended', end_reason: 'completed' });
      expect(calls[0]?.duration_ms).toBeGreaterThan(0);
    }
  }, 120_000);
});
