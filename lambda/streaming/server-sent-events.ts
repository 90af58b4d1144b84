/*
 * Server-Sent Events (the WHATWG `text/event-stream` format), both ways: the turn stream writes them, the client
 * and the OpenAI-compatible provider read them. Only what those need: `event`, `data` (multi-line), comments.
 */

export interface ServerSentEvent {
  /** `message` when the event names none. */
  readonly event: string;
  readonly data: string;
}

/** One event: `event: <name>` and one `data:` line per line of `data`, then a blank line. */
export function encodeServerSentEvent(event: string, data: string): string {
  return `event: ${event}\n${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/**
 * The events of a `text/event-stream` body, as they arrive. Lines end in LF, CRLF or CR; `id` and `retry` are
 * ignored; an event without data is not dispatched, nor one the body ends before its blank line (as browsers do).
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const dispatch = (line: string): ServerSentEvent | undefined => {
    if (line === '') {
      const complete = data.length > 0 ? { event: event || 'message', data: data.join('\n') } : undefined;
      event = '';
      data = [];
      return complete;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    return undefined;
  };
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    // A CR at the very end may be the first half of a CRLF: keep it until more arrives.
    for (let match = /\r\n|\r(?!$)|\n/.exec(buffer); match; match = /\r\n|\r(?!$)|\n/.exec(buffer)) {
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      const complete = dispatch(line);
      if (complete) yield complete;
    }
  }
  // An event the stream ended in the middle of is dropped, as the format says: only a blank line completes one.
}
