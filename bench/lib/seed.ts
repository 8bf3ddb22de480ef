// Seeds bench users and conversations through the public API (register, login, create conversation), with the
// typed SDK client (sdk/); `api` stays for the scenarios' untyped one-off requests.
import { createRest, memoryTokenStore, type RestClient, type TokenPair } from '../../sdk/src/index.js';

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

export interface BenchConversation {
  id: string;
  memberIds: string[];
  lastSeq: number;
}

const PASSWORD = 'Bench-load-7731';

/** JSON request against `/api/v1`; throws with the server's error code on failure. */
export async function api<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const json = (await response.json().catch(() => ({}))) as { data?: T; error?: { code?: string } };
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${json.error?.code ?? ''}`.trim());
  }
  return json.data as T;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, i: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Registers and logs in `count` users (argon2id makes this the slow part: ~2 hashes per user). */
export async function seedUsers(
  base: string,
  tag: string,
  count: number,
  concurrency = 8,
): Promise<BenchUser[]> {
  const names = Array.from({ length: count }, (_, i) => `b${tag}_${i}`.slice(0, 32));
  return pool(names, concurrency, async (username) => {
    const { api } = createRest({ baseUrl: base, tokens: memoryTokenStore() });
    const registered = await api.POST('/api/v1/auth/register', { body: { username, password: PASSWORD } });
    ok(registered, 'POST /auth/register');
    const login = ok(
      await api.POST('/api/v1/auth/login', { body: { username, password: PASSWORD } }),
      'POST /auth/login',
    );
    return { id: login.user.id, username, token: login.access_token };
  });
}

/** The typed SDK client of a seeded user. */
function sdkFor(base: string, user: BenchUser): RestClient {
  return createRest({
    baseUrl: base,
    tokens: memoryTokenStore({ access_token: user.token, refresh_token: '' } as TokenPair),
  }).api;
}

/** The `data` of an SDK answer; throws with the server's error code otherwise. */
function ok<T>(answer: { data?: { data: T }; error?: unknown; response: Response }, what: string): T {
  if (answer.data) return answer.data.data;
  const code = (answer.error as { error?: { code?: string } } | undefined)?.error?.code ?? '';
  throw new Error(`${what}: ${answer.response.status} ${code}`.trim());
}

/** Creates a group owned by `owner` with `members` (the owner included); adds members beyond 1,000 in batches. */
export async function createGroup(
  base: string,
  owner: BenchUser,
  members: BenchUser[],
  name: string,
): Promise<BenchConversation> {
  const api = sdkFor(base, owner);
  const others = members.filter((m) => m.id !== owner.id).map((m) => m.id);
  const conversation = ok(
    await api.POST('/api/v1/conversations', {
      body: { type: 'group', name, member_ids: others.slice(0, 999) },
    }),
    'POST /conversations',
  );
  for (let i = 999; i < others.length; i += 1000) {
    ok(
      await api.POST('/api/v1/conversations/{id}/members', {
        params: { path: { id: conversation.id } },
        body: { member_ids: others.slice(i, i + 1000) },
      }),
      'POST /conversations/{id}/members',
    );
  }
  const fresh = ok(
    await api.GET('/api/v1/conversations/{id}', { params: { path: { id: conversation.id } } }),
    'GET /conversations/{id}',
  );
  return { id: conversation.id, memberIds: members.map((m) => m.id), lastSeq: fresh.last_seq };
}

export async function createDm(base: string, a: BenchUser, b: BenchUser): Promise<BenchConversation> {
  const conversation = ok(
    await sdkFor(base, a).POST('/api/v1/conversations', { body: { type: 'dm', member_ids: [b.id] } }),
    'POST /conversations',
  );
  return { id: conversation.id, memberIds: [a.id, b.id], lastSeq: conversation.last_seq };
}

/** `groups` groups of `size` users each (distinct users), created `concurrency` at a time. */
export async function seedGroups(
  base: string,
  users: BenchUser[],
  groups: number,
  size: number,
  concurrency = 8,
): Promise<BenchConversation[]> {
  const indexes = Array.from({ length: groups }, (_, g) => g);
  return pool(indexes, concurrency, (g) => {
    const members = users.slice(g * size, g * size + size);
    return createGroup(base, members[0] as BenchUser, members, `bench ${g}`);
  });
}
