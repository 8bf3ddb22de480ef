// Push endpoints are URLs users supply (an SSRF vector): https only, no credentials, never a private, loopback or
// link-local address unless the host is in PUSH_ENDPOINT_ALLOWLIST. Checked when a device registers, and again at
// connect time by a filtering agent (a public name may resolve to a private address later).
import type { Agent } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { ValidationError } from '../../errors.js';

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['::ffff:0:0', 96],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

export function isAllowlisted(host: string, allowlist: readonly string[]): boolean {
  return allowlist.includes(host.toLowerCase().replace(/^\[|\]$/g, ''));
}

/** The endpoint as a URL, or a validation_error on `push.endpoint`. */
export function checkPushEndpoint(endpoint: string, allowlist: readonly string[]): URL {
  const refuse = (why: string): never => {
    throw new ValidationError(`push.endpoint ${why}`, { field: 'push.endpoint' });
  };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return refuse('is not a URL');
  }
  if (url.protocol !== 'https:') refuse('must be an https URL');
  if (url.username || url.password) refuse('must not carry credentials');
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isAllowlisted(host, allowlist)) return url;
  const family = isIP(host);
  if (family !== 0 && PRIVATE.check(host, family === 4 ? 'ipv4' : 'ipv6')) {
    refuse('must not be a private or loopback address');
  }
  if (family === 0 && (LOCAL_NAMES.test(host) || !host.includes('.'))) refuse('must be a public host name');
  return url;
}

/** Public endpoints go through an agent that refuses private addresses at connect time; allowlisted ones do not. */
export class PushAgents {
  private readonly filtering = new RequestFilteringHttpsAgent({ keepAlive: true });

  constructor(private readonly allowlist: readonly string[]) {}

  for(endpoint: string): Agent | undefined {
    const host = new URL(endpoint).hostname;
    return isAllowlisted(host, this.allowlist) ? undefined : this.filtering;
  }

  close(): void {
    this.filtering.destroy();
  }
}
