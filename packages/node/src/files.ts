/**
 * Reading a small file a user named (a passphrase, a genesis, a notice, a proof): bounded in size,
 * and every failure says which: the file is missing, is too large, or cannot be read (and why).
 */
import { readFileSync, readSync, statSync } from 'node:fs';
import { ProtocolError, type ProtocolErrorCode } from '@custos/protocol/errors';
import { NodeError, type NodeErrorCode } from './errors.js';

export interface ReadBoundedOptions {
  /** What the file should hold, for the message: 'a passphrase', 'a genesis file'. */
  what: string;
  maxBytes: number;
  /** The error code of every failure (default BAD_REQUEST). */
  code?: NodeErrorCode;
  /** A protocol error code instead (e.g. BAD_PROOF). */
  protocolCode?: ProtocolErrorCode;
}

function fail(opts: ReadBoundedOptions, message: string, cause?: unknown): Error {
  if (opts.protocolCode !== undefined) return new ProtocolError(opts.protocolCode, message, { cause });
  return new NodeError(opts.code ?? 'BAD_REQUEST', message, { cause });
}

/** Up to `limit` bytes of stdin (a pipe or a file), without reading more than that into memory. */
function readStdin(limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, Math.min(chunk.length, limit - total), null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    total += n;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks);
}

/** The file's bytes; `path` '-' reads stdin. */
export function readBoundedFile(path: string, opts: ReadBoundedOptions): Buffer {
  const name = path === '-' ? 'stdin' : path;
  let bytes: Buffer;
  try {
    if (path !== '-') {
      const size = statSync(path).size;
      if (size > opts.maxBytes)
        throw fail(opts, `${name} is ${size} bytes; expected ${opts.what} of at most ${opts.maxBytes} bytes`);
    }
    bytes = path === '-' ? readStdin(opts.maxBytes + 1) : readFileSync(path);
  } catch (cause) {
    if (cause instanceof NodeError || cause instanceof ProtocolError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail(opts, `no such file: ${name} (expected ${opts.what})`, cause);
    if (code === 'EISDIR') throw fail(opts, `${name} is a directory (expected ${opts.what})`, cause);
    throw fail(opts, `cannot read ${opts.what} from ${name}: ${code ?? (cause as Error).message}`, cause);
  }
  if (bytes.length > opts.maxBytes)
    throw fail(opts, `${name} holds more than ${opts.maxBytes} bytes; expected ${opts.what} of at most that`);
  return bytes;
}
