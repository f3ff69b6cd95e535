/**
 * The subset of RFC 9651 (Structured Field Values for HTTP) that HTTP Message Signatures and
 * Content-Digest use: Dictionaries whose members are Items or Inner Lists, with Parameters; bare
 * Items of type Integer, String, Token, Byte Sequence and Boolean. Decimals, Dates and Display
 * Strings are rejected. Parsing is strict (RFC 9651 section 4.2) and also refuses duplicate
 * dictionary keys and parameter names, which the RFC resolves silently: a signature verifier must
 * not guess which of two values was signed.
 */
import { base64 } from '@scure/base';
import { ProtocolError } from '../errors.js';

/** A Token (RFC 9651 section 3.3.4), kept apart from a String so that it serializes back as one. */
export class SfToken {
  constructor(readonly value: string) {}
}

export type SfBareItem = number | string | boolean | Uint8Array | SfToken;
/** Parameters in their order on the wire. */
export type SfParams = Map<string, SfBareItem>;
export interface SfItem {
  value: SfBareItem;
  params: SfParams;
}
export interface SfInnerList {
  items: SfItem[];
  params: SfParams;
}
export type SfMember = SfItem | SfInnerList;
export type SfDictionary = Map<string, SfMember>;

/** Longest field value parsed; the signature fields of one request are far shorter. */
export const MAX_FIELD_LENGTH = 8192;
const MAX_INTEGER = 999_999_999_999_999;

export function isInnerList(m: SfMember): m is SfInnerList {
  return 'items' in m;
}

function fail(message: string): never {
  throw new ProtocolError('BAD_ENCODING', `structured field: ${message}`);
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private skipSp(): void {
    while (this.s[this.i] === ' ') this.i++;
  }

  private skipOws(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  dictionary(): SfDictionary {
    const out: SfDictionary = new Map();
    this.skipSp();
    if (this.i === this.s.length) return out;
    for (;;) {
      const key = this.key();
      if (out.has(key)) fail(`duplicate dictionary key '${key}'`);
      let member: SfMember;
      if (this.peek() === '=') {
        this.i++;
        member = this.itemOrInnerList();
      } else {
        member = { value: true, params: this.params() };
      }
      out.set(key, member);
      this.skipOws();
      if (this.i === this.s.length) return out;
      if (this.peek() !== ',') fail(`expected ',' after dictionary member '${key}' at offset ${this.i}`);
      this.i++;
      this.skipOws();
      if (this.i === this.s.length) fail('trailing comma in a dictionary');
    }
  }

  end(): void {
    this.skipSp();
    if (this.i !== this.s.length) fail(`unexpected character at offset ${this.i}`);
  }

  private itemOrInnerList(): SfMember {
    if (this.peek() === '(') return this.innerList();
    return { value: this.bareItem(), params: this.params() };
  }

  private innerList(): SfInnerList {
    this.i++; // (
    const items: SfItem[] = [];
    for (;;) {
      this.skipSp();
      if (this.peek() === ')') {
        this.i++;
        return { items, params: this.params() };
      }
      items.push({ value: this.bareItem(), params: this.params() });
      const c = this.peek();
      if (c !== ' ' && c !== ')') fail(`expected ' ' or ')' in an inner list at offset ${this.i}`);
    }
  }

  private params(): SfParams {
    const out: SfParams = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSp();
      const key = this.key();
      if (out.has(key)) fail(`duplicate parameter '${key}'`);
      let value: SfBareItem = true;
      if (this.peek() === '=') {
        this.i++;
        value = this.bareItem();
      }
      out.set(key, value);
    }
    return out;
  }

  private key(): string {
    const m = /^[a-z*][a-z0-9_.*-]*/.exec(this.s.slice(this.i, this.i + 256));
    if (!m) fail(`expected a key (lower-case letter or '*') at offset ${this.i}`);
    this.i += m[0].length;
    return m[0];
  }

  private bareItem(): SfBareItem {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9')) return this.integer();
    if (c === '"') return this.string();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (c === '*' || /[A-Za-z]/.test(c)) return this.token();
    fail(`unsupported or invalid item at offset ${this.i}`);
  }

  private integer(): number {
    const m = /^-?[0-9]{1,16}/.exec(this.s.slice(this.i, this.i + 17));
    if (!m) fail(`expected an integer at offset ${this.i}`);
    if (this.s[this.i + m[0].length] === '.') fail('decimals are not supported');
    const digits = m[0].replace('-', '');
    if (digits.length > 15) fail('integer longer than 15 digits');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (Math.abs(n) > MAX_INTEGER) fail('integer out of range');
    return n;
  }

  private string(): string {
    this.i++; // "
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) fail('unterminated string');
      if (c === '\\') {
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') fail('invalid escape in a string');
        out += next;
      } else if (c === '"') {
        return out;
      } else {
        const code = c.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) fail('strings hold printable ASCII only');
        out += c;
      }
    }
  }

  private token(): SfToken {
    const m = /^[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*/.exec(this.s.slice(this.i, this.i + 1024));
    if (!m) fail(`expected a token at offset ${this.i}`);
    this.i += m[0].length;
    return new SfToken(m[0]);
  }

  private bytes(): Uint8Array {
    const close = this.s.indexOf(':', this.i + 1);
    if (close < 0) fail('unterminated byte sequence');
    const b64 = this.s.slice(this.i + 1, close);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) fail('byte sequences hold base64 only');
    this.i = close + 1;
    try {
      // RFC 9651 lets parsers accept missing padding; the serialization always pads.
      return base64.decode(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
    } catch (cause) {
      throw new ProtocolError('BAD_ENCODING', 'structured field: invalid base64 in a byte sequence', { cause });
    }
  }

  private boolean(): boolean {
    const v = this.s.slice(this.i, this.i + 2);
    if (v !== '?0' && v !== '?1') fail(`expected ?0 or ?1 at offset ${this.i}`);
    this.i += 2;
    return v === '?1';
  }
}

/** Parses a Dictionary field value (several field lines joined with ", " first). */
export function parseDictionary(value: string): SfDictionary {
  if (typeof value !== 'string' || value.length > MAX_FIELD_LENGTH) {
    fail(`expected a field value of at most ${MAX_FIELD_LENGTH} characters`);
  }
  const p = new Parser(value);
  const d = p.dictionary();
  p.end();
  return d;
}

/** RFC 9651 section 4.1.6: a String, with `"` and `\` escaped. */
export function serializeString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) fail('strings hold printable ASCII only');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function serializeBareItem(v: SfBareItem): string {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) > MAX_INTEGER) fail(`expected an integer, got ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return serializeString(v);
  if (typeof v === 'boolean') return v ? '?1' : '?0';
  if (v instanceof Uint8Array) return `:${base64.encode(v)}:`;
  if (!/^[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*$/.test(v.value)) fail('invalid token');
  return v.value;
}

export function serializeParams(params: SfParams): string {
  let out = '';
  for (const [k, v] of params) {
    if (!/^[a-z*][a-z0-9_.*-]*$/.test(k)) fail(`invalid parameter name '${k.slice(0, 32)}'`);
    out += v === true ? `;${k}` : `;${k}=${serializeBareItem(v)}`;
  }
  return out;
}

export function serializeInnerList(list: SfInnerList): string {
  const items = list.items.map((it) => serializeBareItem(it.value) + serializeParams(it.params));
  return `(${items.join(' ')})${serializeParams(list.params)}`;
}
