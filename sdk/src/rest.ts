// The REST client: openapi-fetch typed by the generated paths, with a bearer token and one refresh on 401.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './openapi.js';
import type { TokenPair } from './types.js';

export type RestClient = Client<paths>;

/** Requests that carry credentials themselves: a 401 there is an answer, not an expired token. */
const CREDENTIAL_PATHS = /\/auth\/(login|register|refresh)(\?|$)/;

export interface TokenStore {
  get(): TokenPair | null;
  set(tokens: TokenPair | null): void;
}

/** Keeps tokens in memory; the web client wraps it with localStorage. */
export function memoryTokenStore(initial: TokenPair | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

export interface RestOptions {
  /** '' (same origin) in a browser, `http://host:port` elsewhere. */
  baseUrl: string;
  tokens: TokenStore;
  fetch?: typeof fetch;
  /** Called when the session is over (refresh refused): sign the user out. */
  onSignedOut?: () => void;
}

export interface TmaRest {
  api: RestClient;
  tokens: TokenStore;
  /** Trades the refresh token for a new pair once (concurrent callers share the attempt); false when refused. */
  refresh(): Promise<boolean>;
}

export function createRest(options: RestOptions): TmaRest {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const api = createClient<paths>({ baseUrl: options.baseUrl, fetch: fetchFn });
  let refreshing: Promise<boolean> | null = null;

  async function doRefresh(): Promise<boolean> {
    const current = options.tokens.get();
    if (!current) return false;
    const raw = createClient<paths>({ baseUrl: options.baseUrl, fetch: fetchFn });
    try {
      const { data, response } = await raw.POST('/api/v1/auth/refresh', {
        body: { refresh_token: current.refresh_token },
      });
      if (data) {
        options.tokens.set(data.data);
        return true;
      }
      // Only a definite refusal ends the session; a network failure or a 5xx keeps the tokens for later.
      if (response.status === 401 || response.status === 403) {
        options.tokens.set(null);
        options.onSignedOut?.();
      }
      return false;
    } catch {
      return false;
    }
  }
  const refresh = () => {
    refreshing ??= doRefresh().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  // A request's body is spent once sent: keep a copy to replay after a refresh.
  const copies = new WeakMap<Request, Request>();
  const auth: Middleware = {
    onRequest({ request }) {
      const token = options.tokens.get()?.access_token;
      if (token && !request.headers.has('authorization'))
        request.headers.set('authorization', `Bearer ${token}`);
      if (!CREDENTIAL_PATHS.test(request.url)) copies.set(request, request.clone());
      return request;
    },
    async onResponse({ request, response }) {
      if (response.status !== 401 || CREDENTIAL_PATHS.test(request.url)) return response;
      if (!options.tokens.get() || !(await refresh())) return response;
      const token = options.tokens.get()?.access_token;
      const again = copies.get(request);
      if (!again) return response;
      again.headers.set('authorization', `Bearer ${token}`);
      return fetchFn(again);
    },
  };
  api.use(auth);
  return { api, tokens: options.tokens, refresh };
}
