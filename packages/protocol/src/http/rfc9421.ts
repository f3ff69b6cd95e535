/**
 * RFC 9421 HTTP Message Signatures: the signature base of a request (section 2.5), built from its
 * covered components (derived components of section 2.2 and header fields of section 2.1) and the
 * signature parameters (section 2.3). Requests only; no component parameters (`sf`, `key`, `bs`,
 * `req`, `tr`, `@query-param`): a covered component with one is refused, never half-supported.
 */
import { ProtocolError } from '../errors.js';
import {
  type SfBareItem,
  type SfInnerList,
  type SfParams,
  serializeInnerList,
  serializeString,
} from './structured-fields.js';

/** Header fields of a request, by name (any case). Several lines of one field: an array. */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** A request as the signature sees it. */
export interface HttpRequestMessage {
  method: string;
  /**
   * The absolute target URI, exactly as sent (`https://node.example/v1/x?y=1`): a verifier passes
   * the request target it received, unnormalized, behind the scheme and Host it was received with.
   */
  url: string;
  headers: HttpHeaders;
}

/**
 * Signature parameters (RFC 9421 section 2.3), serialized in the order of the object's keys.
 * `created` and `expires` are UNIX times in seconds.
 */
export interface SignatureParams {
  created?: number;
  expires?: number;
  nonce?: string;
  alg?: string;
  keyid?: string;
  tag?: string;
}

/** Derived components this implementation computes for a request. */
export const DERIVED_COMPONENTS = [
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
] as const;

const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

function fail(message: string): never {
  throw new ProtocolError('BAD_SIGNATURE', message);
}

interface TargetParts {
  scheme: string;
  authority: string;
  path: string;
  /** With its leading `?`; null when the target has no query at all. */
  query: string | null;
}

/** Splits an absolute URI without normalizing its path or query (RFC 9421 compares them as sent). */
export function targetParts(url: string): TargetParts {
  const m = typeof url === 'string' && url.length <= 8192 ? URI.exec(url) : null;
  if (!m) fail('expected an absolute http(s) target URI');
  const scheme = m[1]!.toLowerCase();
  // RFC 9110 section 4.2.3 normalization: no userinfo, lower-case host, no default port.
  let authority = m[2]!.replace(/^[^@]*@/, '').toLowerCase();
  const port = DEFAULT_PORTS[scheme];
  if (port !== undefined && authority.endsWith(`:${port}`)) authority = authority.slice(0, -port.length - 1);
  return { scheme, authority, path: m[3] === '' ? '/' : m[3]!, query: m[4] ?? null };
}

/** The value of one header field for a signature base (RFC 9421 section 2.1): lines trimmed and joined by ", ". */
export function fieldValue(headers: HttpHeaders, name: string): string | undefined {
  let raw: string | readonly string[] | number | undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) {
      if (raw !== undefined) fail(`header field '${name}' given twice with different case`);
      raw = v;
    }
  }
  if (raw === undefined) return undefined;
  const lines = (Array.isArray(raw) ? raw : [String(raw)]) as string[];
  // Obsolete line folding becomes one space (section 2.1); leading and trailing whitespace goes.
  return lines.map((l) => l.replace(/\r?\n[ \t]+/g, ' ').replace(/^[ \t]+|[ \t]+$/g, '')).join(', ');
}

function componentValue(name: string, message: HttpRequestMessage): string {
  if (name.startsWith('@')) {
    if (name === '@method') {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/.test(message.method)) fail('expected an HTTP method token');
      return message.method;
    }
    const t = targetParts(message.url);
    switch (name) {
      case '@target-uri':
        return message.url;
      case '@authority':
        return t.authority;
      case '@scheme':
        return t.scheme;
      case '@request-target':
        return `${t.path}${t.query ?? ''}`;
      case '@path':
        return t.path;
      case '@query':
        // Section 2.2.7: an absent query is the `?` alone.
        return t.query ?? '?';
    }
    fail(`unsupported derived component '${name.slice(0, 40)}'`);
  }
  const v = fieldValue(message.headers, name);
  if (v === undefined) fail(`covered header field '${name}' is absent from the request`);
  return v;
}

/** Checks a covered component list: lower-case names, known derived components, no duplicates. */
export function checkComponents(components: readonly string[]): void {
  if (!Array.isArray(components) || components.length > 32) fail('expected at most 32 covered components');
  const seen = new Set<string>();
  for (const c of components) {
    if (typeof c !== 'string') fail('expected covered components as strings');
    if (c === '@signature-params') fail("'@signature-params' cannot be a covered component");
    if (c.startsWith('@') ? !(DERIVED_COMPONENTS as readonly string[]).includes(c) : !FIELD_NAME.test(c)) {
      fail(`unsupported covered component '${c.slice(0, 40)}'`);
    }
    if (seen.has(c)) fail(`covered component '${c}' listed twice`);
    seen.add(c);
  }
}

function paramsMap(params: SignatureParams | SfParams): SfParams {
  if (params instanceof Map) return params;
  const out: SfParams = new Map();
  for (const [k, v] of Object.entries(params) as [string, SfBareItem | undefined][]) {
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/**
 * The `@signature-params` value, which is also the Signature-Input member of the signature:
 * `("@method" "@path");created=1618884473;keyid="k"`.
 */
export function signatureParamsValue(components: readonly string[], params: SignatureParams | SfParams): string {
  checkComponents(components);
  const list: SfInnerList = {
    items: components.map((c) => ({ value: c, params: new Map() })),
    params: paramsMap(params),
  };
  return serializeInnerList(list);
}

/**
 * The signature base (RFC 9421 section 2.5): one line per covered component, then the
 * `@signature-params` line, joined by LF with no final newline. Throws `BAD_SIGNATURE` when a
 * covered component is absent or unsupported, or a value holds a character a base cannot hold.
 *
 * @example
 * signatureBase(['@method', '@path'], { created: 1618884473, keyid: 'k' }, { method: 'GET', url: 'https://e.x/a', headers: {} })
 * // '"@method": GET\n"@path": /a\n"@signature-params": ("@method" "@path");created=1618884473;keyid="k"'
 */
export function signatureBase(
  components: readonly string[],
  params: SignatureParams | SfParams,
  message: HttpRequestMessage,
): string {
  const paramsLine = signatureParamsValue(components, params);
  let base = '';
  for (const c of components) {
    const value = componentValue(c, message);
    // Each line is `"name": value`; a value with a newline or a non-ASCII byte would let one
    // base read as another (section 2.5 fails such a message).
    if (!/^[\x20-\x7e\t]*$/.test(value)) fail(`component '${c}' holds a character a signature base cannot hold`);
    base += `${serializeString(c)}: ${value}\n`;
  }
  return `${base}"@signature-params": ${paramsLine}`;
}
