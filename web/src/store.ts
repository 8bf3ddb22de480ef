// The client's state: one store over the SDK (REST + realtime). Components read it with useStore() and call its
// methods; every change bumps a version and re-renders subscribers.
import {
  type ConnectionState,
  type Conversation,
  type CurrentUser,
  type components,
  createRest,
  type Message,
  type MessageSearchHit,
  type operations,
  type PendingSend,
  TmaRealtime,
  type TmaRest,
  type TokenPair,
  type TokenStore,
  type User,
} from '@tma/sdk';
import { Calls } from './calls.ts';

export type Pin = components['schemas']['Pin'];
export type AuthConfig = components['schemas']['AuthConfig'];
export type Poll = components['schemas']['Poll'];
export type FriendRequest = components['schemas']['FriendRequest'];
export type NewPoll = operations['createPoll']['requestBody']['content']['application/json'];
/** Who an external conversation is with: their address and the channel (sms, mms, email) of the thread. */
export interface ChannelInfo {
  channel: 'sms' | 'mms' | 'email';
  address: string;
  inbox: string;
}

export type FileKind = 'image' | 'file' | 'voice';

/** A file on its way: asked for an upload URL, sent (loaded of total bytes), checked, then sent as a message. */
export interface Upload {
  key: string;
  conversation_id: string;
  name: string;
  kind: FileKind;
  loaded: number;
  total: number;
  error?: string;
}

const IMAGE_TYPES = /^image\/(jpeg|png|webp|gif|heic|heif|avif)$/;

export function kindOf(contentType: string): FileKind {
  if (IMAGE_TYPES.test(contentType)) return 'image';
  if (contentType.startsWith('audio/')) return 'voice';
  return 'file';
}

/** PUT with upload progress (fetch has none for request bodies). */
function putWithProgress(
  upload: { url: string; method: string; headers: Record<string, string> },
  body: Blob,
  onProgress: (loaded: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method, upload.url);
    for (const [name, value] of Object.entries(upload.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(`Upload failed (${xhr.status})`)));
    xhr.onerror = () => reject(new Error('Upload failed: no connection'));
    xhr.send(body);
  });
}

export type ProfileChanges = operations['updateMe']['requestBody']['content']['application/json'];

const TOKENS_KEY = 'tma.tokens';
const OUTBOX_KEY = 'tma.outbox';
/** The state of a TMS sign-in this tab started (sessionStorage): the hand-off must bring it back. */
const HANDOFF_KEY = 'tma.handoff.state';

/** TMS hand-off: the parameters TMS put in the address fragment, taken out of the address bar at once. */
function takeHandoff(): URLSearchParams | null {
  if (!location.hash.includes('access_token=')) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(history.state, '', location.pathname + location.search);
  return params;
}
const PAGE = 30;

export interface History {
  items: Message[];
  hasMore: boolean;
  loading: boolean;
  loaded: boolean;
}

/** What the address bar names: `/c/{id}`, `/friends`, `/settings`, or `/`. */
export type Route =
  | { kind: 'chat'; id: string }
  | { kind: 'friends' }
  | { kind: 'settings' }
  | { kind: 'home' };

export interface Watermark {
  delivered: number;
  read: number;
}

function localTokens(): TokenStore {
  let tokens: TokenPair | null = null;
  try {
    tokens = JSON.parse(localStorage.getItem(TOKENS_KEY) ?? 'null') as TokenPair | null;
  } catch {
    tokens = null;
  }
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
      if (next) localStorage.setItem(TOKENS_KEY, JSON.stringify(next));
      else localStorage.removeItem(TOKENS_KEY);
    },
  };
}

export function errorText(error: unknown): string {
  const e = error as { error?: { message?: string; code?: string } } | undefined;
  return e?.error?.message ?? e?.error?.code ?? 'Something went wrong';
}

export class Store {
  version = 0;
  me: CurrentUser | null = null;
  booting = true;
  /** How people sign in here (GET /auth/config); null until loaded or when the server did not answer. */
  authConfig: AuthConfig | null = null;
  /** Why the last TMS hand-off was refused, for the sign-in screen. */
  signInError: string | null = null;
  readonly rest: TmaRest;
  rt: TmaRealtime | null = null;
  calls: Calls | null = null;
  connection: ConnectionState = 'closed';
  conversations = new Map<string, Conversation>();
  users = new Map<string, User>();
  online = new Map<string, boolean>();
  lastSeen = new Map<string, string | null>();
  histories = new Map<string, History>();
  outbox: PendingSend[] = [];
  failed: Array<{ pending: PendingSend; reason: string }> = [];
  typing = new Map<string, Map<string, number>>();
  watermarks = new Map<string, Map<string, Watermark>>();
  activeId: string | null = null;
  uploads: Upload[] = [];
  /** A message to bring into view when its conversation's history shows it (a search hit). */
  focus: { conversationId: string; messageId: string } | null = null;
  /** External conversations (docs/channels.md): the outside participant, by conversation id. */
  channels = new Map<string, ChannelInfo>();
  private loadingChannels = false;
  /** Pinned messages per conversation (most recent first), loaded when a chat opens. */
  pins = new Map<string, Pin[]>();
  /** Polls by id, loaded when their message shows and again on poll_updated. */
  polls = new Map<string, Poll>();
  /** A screen shown in the main pane instead of a chat (friends, settings), or null. */
  screen: 'friends' | 'settings' | null = null;
  /** Pending friend requests (incoming and outgoing) by id: loaded on connect, kept live by the friend events. */
  friendRequests = new Map<string, FriendRequest>();
  /** Bumped on every friend event and reconnect: the friends screen reloads its lists when it moves. */
  friendsRevision = 0;
  private readonly listeners = new Set<() => void>();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly fetchingUsers = new Set<string>();
  private readonly receipts = new Map<string, { seq: number }>();
  private readonly fetchingConversations = new Set<string>();

  constructor() {
    this.rest = createRest({ baseUrl: '', tokens: localTokens(), onSignedOut: () => this.signedOut() });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  // ---- session ----

  async boot(): Promise<void> {
    const config = this.rest.api
      .GET('/api/v1/auth/config')
      .then(({ data }) => data?.data ?? null)
      .catch(() => null);
    const handoff = takeHandoff();
    if (handoff) {
      this.signInError = await this.acceptHandoff(handoff);
    } else if (this.rest.tokens.get()) {
      const { data } = await this.rest.api.GET('/api/v1/auth/me').catch(() => ({ data: undefined }));
      if (data) await this.start(data.data);
    }
    this.authConfig = await config;
    this.booting = false;
    this.changed();
  }

  async signIn(
    mode: 'login' | 'register',
    username: string,
    password: string,
    inviteCode?: string,
  ): Promise<string | null> {
    const api = this.rest.api;
    if (mode === 'register') {
      const body = { username, password, ...(inviteCode ? { invite_code: inviteCode } : {}) };
      const reg = await api.POST('/api/v1/auth/register', { body });
      if (reg.error) return errorText(reg.error);
    }
    const login = await api.POST('/api/v1/auth/login', { body: { username, password } });
    if (!login.data) return errorText(login.error);
    this.rest.tokens.set(login.data.data);
    await this.start(login.data.data.user);
    return null;
  }

  /** TMS mode: sends the person to the TMS sign-in page, which comes back here with tokens in the fragment. */
  tmsSignIn(): void {
    const page = this.authConfig?.tms_login_url;
    if (!page) return;
    const state = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');
    sessionStorage.setItem(HANDOFF_KEY, state);
    const target = new URL(page);
    target.searchParams.set('return_to', `${location.origin}${location.pathname}`);
    target.searchParams.set('state', state);
    location.assign(target.href);
  }

  /** Takes the tokens of a TMS hand-off if this tab asked for them; null when signed in, else the reason. */
  private async acceptHandoff(params: URLSearchParams): Promise<string | null> {
    const expected = sessionStorage.getItem(HANDOFF_KEY);
    sessionStorage.removeItem(HANDOFF_KEY);
    if (!expected || params.get('state') !== expected) {
      return 'That sign-in link was not started from this page. Sign in again.';
    }
    const access = params.get('access_token');
    const refresh = params.get('refresh_token');
    if (!access || !refresh) return 'TMS did not send a complete sign-in. Sign in again.';
    const { data, error } = await this.rest.api
      .GET('/api/v1/auth/me', { headers: { authorization: `Bearer ${access}` } })
      .catch(() => ({ data: undefined, error: undefined }));
    if (!data) return `TMS sign-in was refused: ${errorText(error)}`;
    const expiresIn = Number(params.get('expires_in'));
    this.rest.tokens.set({
      access_token: access,
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 900,
      user: data.data,
    });
    await this.start(data.data);
    return null;
  }

  async signOut(): Promise<void> {
    const refresh = this.rest.tokens.get()?.refresh_token;
    await this.rest.api
      .POST('/api/v1/auth/logout', { body: { refresh_token: refresh } })
      .catch(() => undefined);
    this.rest.tokens.set(null);
    this.signedOut();
  }

  /** PATCH /users/me; null when saved, else the reason. */
  async updateMe(changes: ProfileChanges): Promise<string | null> {
    const { data, error } = await this.rest.api.PATCH('/api/v1/users/me', { body: changes });
    if (!data) return errorText(error);
    this.me = data.data;
    this.users.set(data.data.id, data.data);
    this.changed();
    return null;
  }

  private savedOutbox(userId: string): PendingSend[] {
    try {
      const saved = JSON.parse(localStorage.getItem(`${OUTBOX_KEY}.${userId}`) ?? '[]') as PendingSend[];
      return Array.isArray(saved) ? saved.filter((p) => p.client_id && p.conversation_id) : [];
    } catch {
      return [];
    }
  }

  private signedOut(): void {
    if (this.me) localStorage.removeItem(`${OUTBOX_KEY}.${this.me.id}`);
    this.rt?.close();
    this.rt = null;
    this.calls?.close();
    this.calls = null;
    this.me = null;
    this.conversations.clear();
    this.histories.clear();
    this.friendRequests.clear();
    this.outbox = [];
    this.activeId = null;
    this.screen = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.changed();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const tokens = this.rest.tokens.get();
    if (!tokens) return;
    this.refreshTimer = setTimeout(
      () => void this.rest.refresh().then(() => this.scheduleRefresh()),
      Math.max(10, tokens.expires_in * 0.8) * 1000,
    );
  }

  private async start(me: CurrentUser): Promise<void> {
    this.me = me;
    this.users.set(me.id, me);
    this.scheduleRefresh();
    await this.loadConversations();
    const rt = new TmaRealtime({
      getToken: () => this.rest.tokens.get()?.access_token,
      refresh: () => this.rest.refresh(),
    });
    this.rt = rt;
    for (const c of this.conversations.values()) rt.track(c.id, c.last_seq);
    this.wire(rt);
    for (const p of this.savedOutbox(me.id)) {
      rt.send(p.conversation_id, p.content, {
        client_id: p.client_id,
        ...(p.reply_to_id ? { reply_to_id: p.reply_to_id } : {}),
      });
    }
    rt.connect();
    this.calls = new Calls(
      () => this.me?.id,
      () => this.rest.tokens.get()?.access_token,
      () => this.changed(),
    );
    this.calls.connect();
    if (typeof navigator !== 'undefined' && !navigator.onLine) rt.offline();
    this.changed();
  }

  // ---- conversations ----

  async loadConversations(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { data } = await this.rest.api.GET('/api/v1/conversations', {
        params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      });
      if (!data) break;
      for (const c of data.data) this.conversations.set(c.id, c);
      if (!data.pagination.has_more || !data.pagination.next_cursor) break;
      cursor = data.pagination.next_cursor;
    }
    this.fetchMembers([...this.conversations.values()]);
    this.loadChannels();
    this.changed();
  }

  /** Fetches the outside participants of external conversations not known yet. */
  private loadChannels(): void {
    const missing = [...this.conversations.values()].some(
      (c) => c.type === 'external' && !this.channels.has(c.id),
    );
    if (!missing || this.loadingChannels) return;
    this.loadingChannels = true;
    void (async () => {
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const { data } = await this.rest.api.GET('/api/v1/channels/conversations', {
          params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
        });
        if (!data) break;
        for (const x of data.data) {
          const who = x.external_participants[0];
          if (who) this.channels.set(x.conversation_id, { ...who, inbox: x.inbox_address });
        }
        if (!data.pagination.has_more || !data.pagination.next_cursor) break;
        cursor = data.pagination.next_cursor;
      }
      this.loadingChannels = false;
      this.changed();
    })();
  }

  async fetchConversation(id: string): Promise<void> {
    if (this.fetchingConversations.has(id)) return;
    this.fetchingConversations.add(id);
    try {
      const { data } = await this.rest.api.GET('/api/v1/conversations/{id}', { params: { path: { id } } });
      if (!data) return;
      this.conversations.set(id, data.data);
      this.rt?.track(id, data.data.last_seq);
      this.fetchMembers([data.data]);
      this.loadChannels();
      this.changed();
    } finally {
      this.fetchingConversations.delete(id);
    }
  }

  private fetchMembers(conversations: Conversation[]): void {
    const ids = new Set<string>();
    for (const c of conversations)
      for (const m of c.members) if (!this.users.has(m.user_id)) ids.add(m.user_id);
    for (const id of ids) void this.fetchUser(id);
    this.queryPresence();
  }

  async fetchUser(id: string): Promise<void> {
    if (this.users.has(id) || this.fetchingUsers.has(id)) return;
    this.fetchingUsers.add(id);
    const { data } = await this.rest.api.GET('/api/v1/users/{id}', { params: { path: { id } } });
    this.fetchingUsers.delete(id);
    if (data) {
      this.users.set(id, data.data);
      this.changed();
    }
  }

  userName(id: string | null | undefined): string {
    if (!id) return 'System';
    const user = this.users.get(id);
    return user ? (user.display_name ?? user.username) : '…';
  }

  peerOf(c: Conversation): string | null {
    if (c.type !== 'dm') return null;
    return c.members.find((m) => m.user_id !== this.me?.id)?.user_id ?? null;
  }

  title(c: Conversation): string {
    if (c.type === 'dm') return this.userName(this.peerOf(c));
    if (c.type === 'external') return c.name ?? this.channels.get(c.id)?.address ?? 'Outside contact';
    return c.name ?? c.members.map((m) => this.userName(m.user_id)).join(', ');
  }

  sortedConversations(): Conversation[] {
    const at = (c: Conversation) => c.last_message?.created_at ?? c.created_at;
    return [...this.conversations.values()].sort((a, b) => at(b).localeCompare(at(a)));
  }

  private queryPresence(): void {
    const ids = new Set<string>();
    for (const c of this.conversations.values()) {
      const peer = this.peerOf(c);
      if (peer) ids.add(peer);
    }
    if (ids.size === 0 || !this.rt) return;
    void this.rt.presence([...ids].slice(0, 200)).then((ack) => {
      if (!ack.ok) return;
      for (const p of ack.data) {
        this.online.set(p.user_id, p.online);
        this.lastSeen.set(p.user_id, p.last_seen_at);
      }
      this.changed();
    });
  }

  async searchMessages(q: string): Promise<MessageSearchHit[]> {
    const { data } = await this.rest.api.GET('/api/v1/search/messages', {
      params: { query: { q, limit: 20 } },
    });
    return data?.data ?? [];
  }

  async searchPeople(q: string): Promise<User[]> {
    const { data } = await this.rest.api.GET('/api/v1/users', { params: { query: { q, limit: 20 } } });
    return (data?.data ?? []).filter((u) => u.id !== this.me?.id);
  }

  async createConversation(memberIds: string[], name?: string): Promise<string | null> {
    const body =
      memberIds.length === 1 && !name
        ? { type: 'dm' as const, member_ids: memberIds }
        : { type: 'group' as const, member_ids: memberIds, ...(name ? { name } : {}) };
    const { data } = await this.rest.api.POST('/api/v1/conversations', { body });
    if (!data) return null;
    this.conversations.set(data.data.id, data.data);
    this.rt?.track(data.data.id, data.data.last_seq);
    this.fetchMembers([data.data]);
    this.changed();
    return data.data.id;
  }

  // ---- group administration ----

  private took(c: Conversation | undefined): void {
    if (!c) return;
    this.conversations.set(c.id, c);
    this.fetchMembers([c]);
    this.changed();
  }

  /** Rename or describe a group (admins); null when saved, else the reason. */
  async updateGroup(
    id: string,
    changes: { name?: string; description?: string | null; avatar_url?: string | null },
  ): Promise<string | null> {
    const { data, error } = await this.rest.api.PATCH('/api/v1/conversations/{id}', {
      params: { path: { id } },
      body: changes,
    });
    this.took(data?.data);
    return data ? null : errorText(error);
  }

  async addMembers(id: string, memberIds: string[]): Promise<string | null> {
    const { data, error } = await this.rest.api.POST('/api/v1/conversations/{id}/members', {
      params: { path: { id } },
      body: { member_ids: memberIds },
    });
    this.took(data?.data);
    return data ? null : errorText(error);
  }

  async setRole(id: string, userId: string, role: 'admin' | 'member'): Promise<string | null> {
    const { data, error } = await this.rest.api.PATCH('/api/v1/conversations/{id}/members/{user_id}', {
      params: { path: { id, user_id: userId } },
      body: { role },
    });
    this.took(data?.data);
    return data ? null : errorText(error);
  }

  /** Removes a member (admins), or leaves when userId is mine. */
  async removeMember(id: string, userId: string): Promise<string | null> {
    const { data, error } = await this.rest.api.DELETE('/api/v1/conversations/{id}/members/{user_id}', {
      params: { path: { id, user_id: userId } },
    });
    if (!data) return errorText(error);
    if (userId === this.me?.id) this.forget(id);
    else await this.fetchConversation(id);
    return null;
  }

  async mute(id: string, muted: boolean): Promise<string | null> {
    const { data, error } = await this.rest.api.PUT('/api/v1/conversations/{id}/mute', {
      params: { path: { id } },
      body: muted ? { forever: true } : { muted_until: null },
    });
    const c = this.conversations.get(id);
    if (data && c) {
      c.muted_until = data.data.muted_until;
      this.changed();
    }
    return data ? null : errorText(error);
  }

  private forget(id: string): void {
    this.conversations.delete(id);
    this.histories.delete(id);
    if (this.activeId === id) this.activeId = null;
    this.changed();
  }

  focusMessage(conversationId: string, messageId: string): void {
    this.focus = { conversationId, messageId };
    this.changed();
  }

  // ---- calls ----

  /** Notes a call still ringing or going on in this conversation (GET /calls, newest first). */
  async checkCall(conversationId: string): Promise<void> {
    const { data } = await this.rest.api.GET('/api/v1/calls', {
      params: { query: { conversation_id: conversationId, limit: 1 } },
    });
    const call = data?.data[0];
    if (call && (call.status === 'ringing' || call.status === 'active')) this.calls?.noteCall(call);
  }

  // ---- files ----

  /** Uploads one file and sends it as a message (image, voice note or file by its type), with a caption. */
  async sendFile(conversationId: string, file: Blob, name: string, caption?: string): Promise<void> {
    const contentType = file.type || 'application/octet-stream';
    const kind = kindOf(contentType);
    const u: Upload = {
      key: crypto.randomUUID(),
      conversation_id: conversationId,
      name,
      kind,
      loaded: 0,
      total: file.size,
    };
    this.uploads = [...this.uploads, u];
    this.changed();
    const api = this.rest.api;
    try {
      const ticket = await api.POST('/api/v1/files/upload-url', {
        body: { name, size: file.size, content_type: contentType, kind },
      });
      if (!ticket.data) throw new Error(errorText(ticket.error));
      const fileId = ticket.data.data.file.id;
      // A voice note's waveform is decoded while it goes up (the module loads only for voice notes).
      const waveform =
        kind === 'voice'
          ? import('./waveform.ts').then((m) => m.computeWaveform(file)).catch(() => null)
          : Promise.resolve(null);
      await putWithProgress(ticket.data.data.upload, file, (loaded) => {
        u.loaded = loaded;
        this.changed();
      });
      const bars = await waveform;
      const done = await api.POST('/api/v1/files/{id}/complete', {
        params: { path: { id: fileId } },
        body: bars ? { waveform: bars } : {},
      });
      if (!done.data) throw new Error(errorText(done.error));
      const sent = await api.POST('/api/v1/conversations/{id}/messages', {
        params: { path: { id: conversationId } },
        body: {
          type: kind,
          attachments: [fileId],
          client_id: u.key,
          ...(caption ? { content: caption } : {}),
        },
      });
      if (!sent.data) throw new Error(errorText(sent.error));
      this.upsert(sent.data.data, false);
      this.uploads = this.uploads.filter((x) => x !== u);
    } catch (error) {
      u.error = error instanceof Error ? error.message : String(error);
    }
    this.changed();
  }

  dismissUpload(key: string): void {
    this.uploads = this.uploads.filter((u) => u.key !== key);
    this.changed();
  }

  // ---- pins and polls ----

  async loadPins(id: string): Promise<void> {
    const { data } = await this.rest.api.GET('/api/v1/conversations/{id}/pins', { params: { path: { id } } });
    if (!data) return;
    this.pins.set(id, data.data);
    this.changed();
  }

  isPinned(m: Message): boolean {
    return this.pins.get(m.conversation_id)?.some((p) => p.message.id === m.id) ?? false;
  }

  async pin(m: Message, pinned: boolean): Promise<string | null> {
    const path = { params: { path: { id: m.id } } };
    const { data, error } = pinned
      ? await this.rest.api.PUT('/api/v1/messages/{id}/pin', path)
      : await this.rest.api.DELETE('/api/v1/messages/{id}/pin', path);
    if (!data) return errorText(error);
    await this.loadPins(m.conversation_id);
    return null;
  }

  private readonly fetchingPolls = new Set<string>();

  /** The poll when known; otherwise fetches it once and answers undefined until it arrives. */
  poll(id: string): Poll | undefined {
    const poll = this.polls.get(id);
    if (!poll) void this.loadPoll(id);
    return poll;
  }

  async loadPoll(id: string): Promise<void> {
    if (this.fetchingPolls.has(id)) return;
    this.fetchingPolls.add(id);
    try {
      const { data } = await this.rest.api.GET('/api/v1/polls/{id}', { params: { path: { id } } });
      if (data) this.tookPoll(data.data);
    } finally {
      this.fetchingPolls.delete(id);
    }
  }

  private tookPoll(poll: Poll): void {
    this.polls.set(poll.id, poll);
    this.changed();
  }

  async createPoll(id: string, poll: NewPoll): Promise<string | null> {
    const { data, error } = await this.rest.api.POST('/api/v1/conversations/{id}/polls', {
      params: { path: { id } },
      body: poll,
    });
    if (!data) return errorText(error);
    this.tookPoll(data.data.poll);
    this.upsert(data.data.message, false);
    this.changed();
    return null;
  }

  /** Replaces my votes (an empty choice retracts them). */
  async vote(poll: Poll, optionIds: string[]): Promise<string | null> {
    const path = { params: { path: { id: poll.id } } };
    const { data, error } =
      optionIds.length === 0
        ? await this.rest.api.DELETE('/api/v1/polls/{id}/votes', path)
        : await this.rest.api.POST('/api/v1/polls/{id}/votes', { ...path, body: { option_ids: optionIds } });
    if (!data) return errorText(error);
    this.tookPoll(data.data);
    return null;
  }

  async closePoll(poll: Poll): Promise<string | null> {
    const { data, error } = await this.rest.api.POST('/api/v1/polls/{id}/close', {
      params: { path: { id: poll.id } },
    });
    if (!data) return errorText(error);
    this.tookPoll(data.data);
    return null;
  }

  // ---- chat ----

  history(id: string): History {
    let h = this.histories.get(id);
    if (!h) {
      h = { items: [], hasMore: true, loading: false, loaded: false };
      this.histories.set(id, h);
    }
    return h;
  }

  /** Shows what a client route names: a chat, a screen, or the list alone. */
  show(to: Route): void {
    const screen = to.kind === 'friends' || to.kind === 'settings' ? to.kind : null;
    if (screen !== this.screen) {
      this.screen = screen;
      this.changed();
    }
    this.open(to.kind === 'chat' ? to.id : null);
  }

  open(id: string | null): void {
    const previous = this.activeId;
    if (previous === id) return;
    if (previous) void this.rt?.leaveConversation(previous);
    this.activeId = id;
    if (id) {
      void this.rt?.joinConversation(id);
      const h = this.history(id);
      void this.loadPins(id);
      if (!h.loaded) void this.loadOlder(id).then(() => this.loadReceipts(id));
      else {
        this.markRead(id);
        void this.loadReceipts(id);
      }
    }
    this.changed();
  }

  async loadOlder(id: string): Promise<void> {
    const h = this.history(id);
    if (h.loading || (h.loaded && !h.hasMore)) return;
    h.loading = true;
    this.changed();
    const oldest = h.loaded ? h.items[0]?.seq : undefined;
    const { data } = await this.rest.api.GET('/api/v1/conversations/{id}/messages', {
      params: { path: { id }, query: { limit: PAGE, ...(oldest ? { before_seq: oldest } : {}) } },
    });
    h.loading = false;
    if (data) {
      for (const m of data.data) this.upsert(m, false);
      h.hasMore = data.pagination.has_more;
      h.loaded = true;
      for (const m of data.data)
        if (m.sender_id && !this.users.has(m.sender_id)) void this.fetchUser(m.sender_id);
    }
    if (this.activeId === id) this.markRead(id);
    this.changed();
  }

  private async loadReceipts(id: string): Promise<void> {
    const h = this.history(id);
    const mine = [...h.items].reverse().find((m) => m.sender_id === this.me?.id && !m.deleted_at);
    if (!mine) return;
    const { data } = await this.rest.api.GET('/api/v1/messages/{id}/receipts', {
      params: { path: { id: mine.id } },
    });
    if (!data) return;
    const marks = this.marks(id);
    for (const r of data.data) {
      const current = marks.get(r.user_id) ?? { delivered: 0, read: 0 };
      if (r.status === 'read') current.read = Math.max(current.read, mine.seq);
      if (r.status !== 'sent') current.delivered = Math.max(current.delivered, mine.seq);
      marks.set(r.user_id, current);
    }
    this.changed();
  }

  private marks(id: string): Map<string, Watermark> {
    let m = this.watermarks.get(id);
    if (!m) {
      m = new Map();
      this.watermarks.set(id, m);
    }
    return m;
  }

  /** sent / delivered / read for one of my messages: every other member's watermark must have passed it. */
  tick(m: Message): 'sent' | 'delivered' | 'read' {
    const c = this.conversations.get(m.conversation_id);
    const others = c?.members.filter((x) => x.user_id !== this.me?.id) ?? [];
    if (others.length === 0) return 'sent';
    const marks = this.marks(m.conversation_id);
    const all = (f: (w: Watermark) => number) =>
      others.every((o) => f(marks.get(o.user_id) ?? { delivered: 0, read: 0 }) >= m.seq);
    if (all((w) => w.read)) return 'read';
    if (all((w) => w.delivered)) return 'delivered';
    return 'sent';
  }

  private markRead(id: string): void {
    const c = this.conversations.get(id);
    const h = this.histories.get(id);
    const last = Math.max(c?.last_seq ?? 0, h?.items.at(-1)?.seq ?? 0);
    if (!c || last === 0 || typeof document === 'undefined' || document.visibilityState === 'hidden') return;
    if (c.read_seq >= last && c.unread_count === 0) return;
    c.read_seq = last;
    c.unread_count = 0;
    this.receipt('read', id, last);
  }

  /** Watermarks go out at most every 300 ms per conversation (a catch-up of many messages sends one). */
  private receipt(kind: 'read' | 'delivered', id: string, seq: number): void {
    const key = `${kind}:${id}`;
    const pending = this.receipts.get(key);
    if (pending) {
      pending.seq = Math.max(pending.seq, seq);
      return;
    }
    const entry = { seq };
    this.receipts.set(key, entry);
    setTimeout(() => {
      this.receipts.delete(key);
      if (kind === 'read') void this.rt?.markRead(id, entry.seq);
      else void this.rt?.markDelivered(id, entry.seq);
    }, 300);
  }

  /** Adds or replaces a message (by id), keeping the history in seq order; updates the list row. */
  private upsert(m: Message, live: boolean): void {
    const h = this.history(m.conversation_id);
    const i = h.items.findIndex((x) => x.id === m.id);
    if (i >= 0) h.items[i] = m;
    else {
      let at = h.items.length;
      while (at > 0 && h.items[at - 1]!.seq > m.seq) at--;
      h.items.splice(at, 0, m);
    }
    const c = this.conversations.get(m.conversation_id);
    if (c && (!c.last_message || c.last_message.seq <= m.seq)) {
      c.last_message = m;
      c.last_seq = Math.max(c.last_seq, m.seq);
    }
    if (live && c && i < 0 && m.sender_id !== this.me?.id) {
      if (this.activeId === m.conversation_id) this.markRead(m.conversation_id);
      else {
        c.unread_count++;
        this.receipt('delivered', m.conversation_id, m.seq);
      }
    }
  }

  private findMessage(conversationId: string, messageId: string): Message | undefined {
    return this.histories.get(conversationId)?.items.find((m) => m.id === messageId);
  }

  send(id: string, content: string, replyTo?: string): void {
    this.rt?.send(id, content, replyTo ? { reply_to_id: replyTo } : {});
    void this.rt?.typing(id, false);
  }

  async edit(m: Message, content: string): Promise<void> {
    const { data } = await this.rest.api.PATCH('/api/v1/messages/{id}', {
      params: { path: { id: m.id } },
      body: { content },
    });
    if (data) this.upsert(data.data, false);
    this.changed();
  }

  async remove(m: Message): Promise<void> {
    const { data } = await this.rest.api.DELETE('/api/v1/messages/{id}', { params: { path: { id: m.id } } });
    if (data) this.upsert(data.data, false);
    this.changed();
  }

  async react(m: Message, emoji: string): Promise<void> {
    const mine = m.reactions.find((r) => r.emoji === emoji)?.me;
    const path = { params: { path: { id: m.id, emoji } } };
    if (mine) await this.rest.api.DELETE('/api/v1/messages/{id}/reactions/{emoji}', path);
    else await this.rest.api.PUT('/api/v1/messages/{id}/reactions/{emoji}', path);
  }

  typingNames(id: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(id) ?? new Map<string, number>()).entries()]
      .filter(([, until]) => until > now)
      .map(([user]) => this.userName(user));
  }

  // ---- friends ----

  /** Pending requests sent to me: the count on the Friends button. */
  get incomingRequests(): number {
    let n = 0;
    for (const r of this.friendRequests.values()) if (r.direction === 'incoming') n++;
    return n;
  }

  /** The pending requests, again after a reconnect (the friend events carry no seq to catch up with). */
  async loadFriendRequests(): Promise<void> {
    const { data } = await this.rest.api.GET('/api/v1/friends/requests', {
      params: { query: { limit: 100 } },
    });
    if (!data) return;
    this.friendRequests = new Map(data.data.map((r) => [r.id, r]));
    this.friendsRevision++;
    this.changed();
  }

  /** A friend event: `request` pending now, or the request `id` is no longer pending. */
  private friendsChanged(id?: string, request?: FriendRequest): void {
    if (id && request) this.friendRequests.set(id, request);
    else if (id) this.friendRequests.delete(id);
    this.friendsRevision++;
    this.changed();
  }

  // ---- realtime ----

  private wire(rt: TmaRealtime): void {
    rt.on('state', (state) => {
      this.connection = state;
      if (state === 'connected') {
        if (this.activeId) void rt.joinConversation(this.activeId);
        this.queryPresence();
        void this.loadFriendRequests();
      }
      this.changed();
    });
    rt.on('outbox', (outbox) => {
      this.outbox = outbox;
      // Kept across reloads: the same client_ids go out after the next start, so nothing is stored twice.
      localStorage.setItem(`${OUTBOX_KEY}.${this.me?.id}`, JSON.stringify(outbox));
      this.changed();
    });
    rt.on('sent', ({ message }) => {
      this.upsert(message, false);
      this.changed();
    });
    rt.on('send_failed', ({ pending, error }) => {
      this.failed.push({ pending, reason: error.message });
      this.changed();
    });
    rt.on('new_message', (m) => {
      if (!this.conversations.has(m.conversation_id)) void this.fetchConversation(m.conversation_id);
      if (m.sender_id && !this.users.has(m.sender_id)) void this.fetchUser(m.sender_id);
      const typists = this.typing.get(m.conversation_id);
      if (m.sender_id) typists?.delete(m.sender_id);
      this.upsert(m, true);
      this.changed();
    });
    rt.on('message_updated', (m) => {
      const { event_seq: _, ...view } = m;
      this.upsert(view, false);
      this.changed();
    });
    rt.on('message_deleted', ({ conversation_id, message_id }) => {
      const m = this.findMessage(conversation_id, message_id);
      if (m) {
        this.upsert({ ...m, content: null, deleted_at: new Date().toISOString(), reactions: [] }, false);
        this.changed();
      }
    });
    const reaction =
      (add: boolean) =>
      (e: { conversation_id: string; message_id: string; user_id: string; emoji: string }) => {
        const m = this.findMessage(e.conversation_id, e.message_id);
        if (!m) return;
        const mine = e.user_id === this.me?.id;
        const reactions = m.reactions.map((r) => ({ ...r }));
        let r = reactions.find((x) => x.emoji === e.emoji);
        if (!r && add) {
          r = { emoji: e.emoji, count: 0, me: false };
          reactions.push(r);
        }
        if (r) {
          r.count += add ? 1 : -1;
          if (mine) r.me = add;
        }
        this.upsert({ ...m, reactions: reactions.filter((x) => x.count > 0) }, false);
        this.changed();
      };
    rt.on('reaction_added', reaction(true));
    rt.on('reaction_removed', reaction(false));
    rt.on('message_status', (s) => {
      const marks = this.marks(s.conversation_id);
      const current = marks.get(s.user_id) ?? { delivered: 0, read: 0 };
      marks.set(s.user_id, {
        delivered: Math.max(current.delivered, s.delivered_seq),
        read: Math.max(current.read, s.read_seq ?? 0),
      });
      const c = this.conversations.get(s.conversation_id);
      if (c && s.user_id === this.me?.id && s.read_seq !== null && s.read_seq >= c.last_seq)
        c.unread_count = 0;
      this.changed();
    });
    rt.on('user_typing', ({ conversation_id, user_id, typing }) => {
      let t = this.typing.get(conversation_id);
      if (!t) {
        t = new Map();
        this.typing.set(conversation_id, t);
      }
      if (typing) t.set(user_id, Date.now() + 6_000);
      else t.delete(user_id);
      this.changed();
      if (typing) setTimeout(() => this.changed(), 6_100);
    });
    rt.on('user_online', ({ user_id }) => {
      this.online.set(user_id, true);
      this.changed();
    });
    rt.on('user_offline', ({ user_id, last_seen_at }) => {
      this.online.set(user_id, false);
      this.lastSeen.set(user_id, last_seen_at);
      this.changed();
    });
    rt.on('user_updated', ({ user_id }) => {
      this.users.delete(user_id);
      void this.fetchUser(user_id);
    });
    rt.on('message_pinned', ({ conversation_id }) => void this.loadPins(conversation_id));
    rt.on('friend_request', (r) => this.friendsChanged(r.id, r));
    rt.on('friend_request_updated', (r) => this.friendsChanged(r.id));
    rt.on('friend_request_cancelled', ({ id }) => this.friendsChanged(id));
    rt.on('friend_removed', () => this.friendsChanged());
    rt.on('poll_updated', ({ poll_id }) => {
      if (this.polls.has(poll_id)) void this.loadPoll(poll_id);
    });
    rt.on('member_removed', ({ conversation_id, user_id }) => {
      if (user_id === this.me?.id) this.forget(conversation_id);
      else void this.fetchConversation(conversation_id);
    });
    for (const event of ['conversation_updated', 'member_added', 'member_updated'] as const) {
      rt.on(event, ({ conversation_id }) => void this.fetchConversation(conversation_id));
    }
    rt.on('conversation_created', ({ conversation_id }) => void this.fetchConversation(conversation_id));
    rt.on('discovered', ({ conversation_id }) => void this.fetchConversation(conversation_id));
    rt.on('removed', ({ conversation_id }) => this.forget(conversation_id));
    rt.on('reset', ({ conversation_id }) => {
      this.histories.delete(conversation_id);
      void this.fetchConversation(conversation_id);
      if (this.activeId === conversation_id) void this.loadOlder(conversation_id);
    });
    rt.on('session_ended', () => {
      this.rest.tokens.set(null);
      this.signedOut();
    });
    rt.on('auth_error', ({ code }) => {
      if (code === 'session_revoked' || code === 'user_deactivated' || code === 'token_invalid') {
        this.rest.tokens.set(null);
        this.signedOut();
      }
    });
  }
}

export const store = new Store();
