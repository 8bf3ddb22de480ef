// Fetches a user-supplied URL safely: http(s) only, private/loopback/link-local refused at connect time on every
// hop (request-filtering-agent), redirects followed by hand (max 5), 5 s for the whole fetch, 1 MB read at most.
import http from 'node:http';
import https from 'node:https';
import { useAgent } from 'request-filtering-agent';

export type LinkFetchErrorCode =
  | 'refused'
  | 'timeout'
  | 'too_many_redirects'
  | 'http_error'
  | 'not_html'
  | 'network';

export class LinkFetchError extends Error {
  constructor(
    readonly code: LinkFetchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LinkFetchError';
  }
}

export interface FetchOptions {
  /** Hosts (`host` or `host:port`) fetched without address filtering, e.g. a local test server. */
  allowlist: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

export interface FetchedPage {
  /** The final URL after redirects. */
  url: string;
  html: string;
}

/** A fetched binary (MMS media): refused rather than truncated when larger than maxBytes. */
export interface FetchedBinary {
  url: string;
  contentType: string;
  body: Buffer;
}

type Hop = { redirect: URL } | FetchedPage | FetchedBinary;
type Mode = 'html' | 'binary';

const USER_AGENT = 'Mozilla/5.0 (compatible; TMA-LinkPreview/1.0)';
const plainHttp = new http.Agent({ keepAlive: false });
const plainHttps = new https.Agent({ keepAlive: false });

function isAllowlisted(url: URL, allowlist: readonly string[]): boolean {
  return allowlist.includes(url.host.toLowerCase()) || allowlist.includes(url.hostname.toLowerCase());
}

function charsetOf(contentType: string): string {
  const match = /charset=["']?([\w-]+)/i.exec(contentType);
  const charset = match?.[1]?.toLowerCase() ?? 'utf-8';
  try {
    new TextDecoder(charset);
    return charset;
  } catch {
    return 'utf-8';
  }
}

function fetchHop(
  url: URL,
  options: Required<FetchOptions>,
  signal: AbortSignal,
  mode: Mode = 'html',
): Promise<Hop> {
  const secure = url.protocol === 'https:';
  const agent = isAllowlisted(url, options.allowlist)
    ? secure
      ? plainHttps
      : plainHttp
    : useAgent(url.href);
  const client = secure ? https : http;
  return new Promise<Hop>((resolve, reject) => {
    const request = client.get(
      url,
      {
        agent,
        signal,
        headers: {
          'user-agent': USER_AGENT,
          accept: mode === 'html' ? 'text/html,application/xhtml+xml' : '*/*',
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          response.resume();
          try {
            resolve({ redirect: new URL(location, url) });
          } catch {
            reject(new LinkFetchError('http_error', 'redirect to an invalid URL'));
          }
          return;
        }
        if (status < 200 || status >= 300) {
          response.resume();
          reject(new LinkFetchError('http_error', `answered ${status}`));
          return;
        }
        const contentType = String(response.headers['content-type'] ?? '');
        if (mode === 'binary') {
          readBinary(response, url, contentType, options.maxBytes).then(resolve, reject);
          return;
        }
        if (!/html/i.test(contentType)) {
          response.resume();
          reject(new LinkFetchError('not_html', `content type ${contentType || 'unknown'}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          const body = Buffer.concat(chunks).subarray(0, options.maxBytes);
          resolve({ url: url.href, html: new TextDecoder(charsetOf(contentType)).decode(body) });
        };
        response.on('data', (chunk: Buffer) => {
          if (done) return;
          chunks.push(chunk);
          size += chunk.length;
          // The head (where the meta tags are) comes first: parse what fits in the cap, drop the rest.
          if (size >= options.maxBytes) {
            finish();
            response.destroy();
          }
        });
        response.on('end', finish);
        response.on('error', (err) => (done ? undefined : reject(err)));
      },
    );
    request.on('error', reject);
  });
}

function readBinary(
  response: http.IncomingMessage,
  url: URL,
  contentType: string,
  maxBytes: number,
): Promise<FetchedBinary> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy();
        reject(new LinkFetchError('http_error', `larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve({ url: url.href, contentType, body: Buffer.concat(chunks) }));
    response.on('error', reject);
  });
}

function classify(error: unknown, signal: AbortSignal): LinkFetchError {
  if (error instanceof LinkFetchError) return error;
  if (signal.aborted) return new LinkFetchError('timeout', 'the page took too long');
  const message = error instanceof Error ? error.message : String(error);
  // request-filtering-agent: "DNS lookup 10.0.0.1(...) is not allowed. Because, It is private IP address."
  if (/is not allowed/i.test(message)) return new LinkFetchError('refused', 'the address is not allowed');
  return new LinkFetchError('network', message.slice(0, 200));
}

export function fetchPage(target: string, options: FetchOptions): Promise<FetchedPage> {
  return fetchFollowing(target, options, 'html') as Promise<FetchedPage>;
}

/** The same guarded fetch for any content (MMS media): the whole body, refused when over maxBytes. */
export function fetchBinary(target: string, options: FetchOptions): Promise<FetchedBinary> {
  return fetchFollowing(target, options, 'binary') as Promise<FetchedBinary>;
}

async function fetchFollowing(
  target: string,
  options: FetchOptions,
  mode: Mode,
): Promise<FetchedPage | FetchedBinary> {
  const settings: Required<FetchOptions> = {
    allowlist: options.allowlist.map((h) => h.toLowerCase()),
    timeoutMs: options.timeoutMs ?? 5_000,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    maxRedirects: options.maxRedirects ?? 5,
  };
  const signal = AbortSignal.timeout(settings.timeoutMs);
  let url = new URL(target);
  for (let hop = 0; hop <= settings.maxRedirects; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new LinkFetchError('refused', `${url.protocol} URLs are not fetched`);
    }
    let result: Hop;
    try {
      result = await fetchHop(url, settings, signal, mode);
    } catch (error) {
      throw classify(error, signal);
    }
    if (!('redirect' in result)) return result;
    url = result.redirect;
  }
  throw new LinkFetchError('too_many_redirects', `more than ${settings.maxRedirects} redirects`);
}
