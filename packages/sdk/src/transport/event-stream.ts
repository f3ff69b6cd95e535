/**
 * Server-sent events (WHATWG HTML, `text/event-stream`) read from a `fetch` response body, so that a
 * stream can carry headers (an RFC 9421 signature) that `EventSource` cannot send, in the browser
 * and in Node alike.
 */

/** One dispatched event: its type (`message` by default), its id if any, and its data lines joined. */
export interface ServerEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Longest line accepted; a stream that sends a longer one is cut rather than buffered forever. */
const MAX_LINE = 1024 * 1024;

/** The events of an event stream, in order, until it ends (or its reader is cancelled). */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let id: string | undefined;
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.search(/\r\n|\r|\n/);
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        const sep = buffer.startsWith('\r\n', nl) ? 2 : 1;
        buffer = buffer.slice(nl + sep);
        if (line === '') {
          if (data.length > 0) yield { event: event === '' ? 'message' : event, id, data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const raw = colon < 0 ? '' : line.slice(colon + 1);
          const v = raw.startsWith(' ') ? raw.slice(1) : raw;
          if (field === 'event') event = v;
          else if (field === 'data') data.push(v);
          else if (field === 'id' && !v.includes('\0')) id = v;
        }
        nl = buffer.search(/\r\n|\r|\n/);
      }
      if (buffer.length > MAX_LINE) throw new Error(`expected event stream lines under ${MAX_LINE} characters`);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
