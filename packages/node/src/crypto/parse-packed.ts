/**
 * Admission's parse on a verify worker: signed transactions that arrived as JSON text (the HTTP
 * route) are shape-checked, canonicalised (RFC 8785) and hashed to their txId there, then their
 * signatures checked, so the main thread only looks the answers up. Texts travel as ONE
 * transferred buffer; the answers come back as one, and then the signatures' verdicts as a second
 * (one byte per item), so admission can answer before the slower verification is done.
 *
 * Texts layout (little-endian): u32 count, count x u32 byte length, then the UTF-8 texts in order.
 * Answers layout: u32 count, count x (u8 status, u32 body length, 32 bytes txId), then the
 * canonical body bytes of each parsed item in order; an item that did not parse has status
 * `FAILED`, length 0, and its error in the `errors` list beside the buffer.
 */
import { ProtocolError, type ProtocolErrorCode } from '@custos/protocol/errors';
import { type ParsedTx, parseTx, verifyTxSignature } from '@custos/protocol/ledger';
import { nativeVerifier } from './native.js';

const PARSED = 0;
const FAILED = 2;
const COUNT_BYTES = 4;
const ENTRY_BYTES = 1 + 4 + 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Why one item did not parse: the code and message `parseTx` threw. */
export interface PackedError {
  index: number;
  code: ProtocolErrorCode;
  message: string;
}

/** A worker's answers for one packed chunk. */
export interface ParsedChunk {
  answers: ArrayBuffer;
  errors: PackedError[];
}

/** One text's outcome: its canonical bytes and txId, or the error of its parse. */
export type TextOutcome = { bodyBytes: Uint8Array; txId: string } | { error: ProtocolError };

/** Packs `texts[start..end)` into one ArrayBuffer (layout in the file comment). */
export function packTexts(texts: readonly string[], start = 0, end = texts.length): ArrayBuffer {
  const count = end - start;
  let size = COUNT_BYTES + 4 * count;
  // The exact UTF-8 size: a turn of up to 1,024 bodies of up to 64 KiB is allocated once, not thrice.
  for (let i = start; i < end; i++) size += Buffer.byteLength(texts[i] as string, 'utf8');
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, count, true);
  let offset = COUNT_BYTES + 4 * count;
  for (let i = start; i < end; i++) {
    const { written } = encoder.encodeInto(texts[i] as string, bytes.subarray(offset));
    view.setUint32(COUNT_BYTES + 4 * (i - start), written, true);
    offset += written;
  }
  return bytes.buffer;
}

/**
 * Parses a packed chunk of texts (runs in the worker): the answers to send back, and `verify`, which
 * then gives one byte per item, 1 where the item parsed and its signature verifies.
 */
export function parsePacked(buffer: ArrayBuffer): ParsedChunk & { verify: () => Uint8Array<ArrayBuffer> } {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const parsed: (ParsedTx | undefined)[] = new Array(count);
  const errors: PackedError[] = [];
  let bodies = 0;
  let offset = COUNT_BYTES + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(COUNT_BYTES + 4 * i, true);
    const text = decoder.decode(new Uint8Array(buffer, offset, length));
    offset += length;
    try {
      const p = parseTx(JSON.parse(text));
      parsed[i] = p;
      bodies += p.bodyBytes.length;
    } catch (e) {
      errors.push(
        e instanceof ProtocolError
          ? { index: i, code: e.code, message: e.message }
          : { index: i, code: 'BAD_TX', message: 'expected a transaction as JSON text' },
      );
    }
  }
  const answers = new Uint8Array(COUNT_BYTES + ENTRY_BYTES * count + bodies);
  const out = new DataView(answers.buffer);
  out.setUint32(0, count, true);
  let at = COUNT_BYTES + ENTRY_BYTES * count;
  for (let i = 0; i < count; i++) {
    const entry = COUNT_BYTES + ENTRY_BYTES * i;
    const p = parsed[i];
    if (p === undefined) {
      answers[entry] = FAILED;
      continue;
    }
    answers[entry] = PARSED;
    out.setUint32(entry + 1, p.bodyBytes.length, true);
    answers.set(hexBytes(p.txId), entry + 5);
    answers.set(p.bodyBytes, at);
    at += p.bodyBytes.length;
  }
  const verify = () => {
    const verdicts = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const p = parsed[i];
      verdicts[i] = p !== undefined && verifyTxSignature(p, nativeVerifier) ? 1 : 0;
    }
    return verdicts;
  };
  return { answers: answers.buffer, errors, verify };
}

/** The outcomes of a chunk's answers, in order. Body bytes are views of the answers' buffer. */
export function unpackParsed(chunk: ParsedChunk): TextOutcome[] {
  const view = new DataView(chunk.answers);
  const bytes = new Uint8Array(chunk.answers);
  const count = view.getUint32(0, true);
  const out: TextOutcome[] = new Array(count);
  for (const e of chunk.errors) out[e.index] = { error: new ProtocolError(e.code, e.message) };
  let at = COUNT_BYTES + ENTRY_BYTES * count;
  for (let i = 0; i < count; i++) {
    const entry = COUNT_BYTES + ENTRY_BYTES * i;
    if (bytes[entry] === FAILED) {
      out[i] ??= { error: new ProtocolError('BAD_TX', 'expected a transaction as JSON text') };
      continue;
    }
    const length = view.getUint32(entry + 1, true);
    out[i] = {
      bodyBytes: bytes.subarray(at, at + length),
      txId: Buffer.from(chunk.answers, entry + 5, 32).toString('hex'),
    };
    at += length;
  }
  return out;
}

function hexBytes(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}
