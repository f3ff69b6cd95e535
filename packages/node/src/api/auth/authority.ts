/**
 * The `@authority` values (RFC 9421 section 2.2.3: the `Host`, lower-cased) a signed request must
 * carry to be accepted by this node (trust #14). A signature covers `@authority`, but the node
 * rebuilds the signature base from the `Host` header the client sent, so without this check a
 * request signed for one peer could be replayed, `Host` unchanged, to another peer of the
 * consortium (each keeps its own nonce cache). Configured with `ServerOptions.authorities` (the
 * names clients use to reach the node, e.g. behind a proxy); otherwise derived from the address
 * the server listens on (loopback names for a loopback address, every local interface for a
 * wildcard one). A server that never listened (tests with `inject`) binds nothing.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { NodeError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The authorities signed requests must name; `set` undefined until configured or listening. */
    custosAuthorities: { set: Set<string> | undefined };
  }
}

/** At most this many names are accepted (an operator list, not a wildcard). */
export const MAX_AUTHORITIES = 64;
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]{1,253})(:[0-9]{1,5})?$/;

/** Normalises `host[:port]` as RFC 9421 compares it (lower case; the default port left out). */
export function normalizeAuthority(value: string, scheme: 'http' | 'https' = 'http'): string {
  const v = value.trim().toLowerCase();
  if (!AUTHORITY.test(v))
    throw new NodeError(
      'BAD_REQUEST',
      `expected an authority like custos.example.org:7070, got '${value.slice(0, 80)}'`,
    );
  const defaultPort = scheme === 'https' ? ':443' : ':80';
  return v.endsWith(defaultPort) ? v.slice(0, -defaultPort.length) : v;
}

/** Installs the authority list on `app`: `configured` if given, else derived when it listens. */
export function installAuthorities(app: FastifyInstance, configured: readonly string[] | undefined): void {
  if (configured !== undefined && (configured.length === 0 || configured.length > MAX_AUTHORITIES)) {
    throw new NodeError('BAD_REQUEST', `expected 1 to ${MAX_AUTHORITIES} authorities (host[:port])`);
  }
  const holder: { set: Set<string> | undefined } = {
    set: configured === undefined ? undefined : new Set(configured.map((a) => normalizeAuthority(a))),
  };
  app.decorate('custosAuthorities', holder);
  if (configured !== undefined) return;
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (address === null || typeof address !== 'object') return;
    holder.set = new Set(listenAuthorities(address.address, address.port));
  });
}

/** The names a client on this machine or network can reach `host:port` by. */
export function listenAuthorities(host: string, port: number): string[] {
  const withPort = (h: string) => (h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`).toLowerCase();
  const loopback = ['localhost', '127.0.0.1', '::1'];
  const wildcard = host === '0.0.0.0' || host === '::';
  const hosts = new Set<string>();
  if (wildcard || loopback.includes(host) || host.startsWith('127.')) for (const h of loopback) hosts.add(h);
  if (wildcard) {
    hosts.add(hostname());
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) hosts.add(i.address);
  } else {
    hosts.add(host);
  }
  const out: string[] = [];
  for (const h of hosts) {
    try {
      out.push(normalizeAuthority(withPort(h)));
    } catch {
      // A name no client can put in a Host header (a scoped link-local address): not an authority.
    }
  }
  return out;
}

/** The authorities a request to `app` may be signed for, or undefined when none is bound. */
export function authoritiesOf(app: FastifyInstance): Set<string> | undefined {
  return app.custosAuthorities?.set;
}
