import { describe, expect, it } from 'vitest';
import { encodeServerSentEvent, readServerSentEvents } from '../../../lambda/streaming/server-sent-events.js';

async function read(pieces: string[]) {
  const events = [];
  const bytes = pieces.map((piece) => new TextEncoder().encode(piece));
  for await (const event of readServerSentEvents(bytes)) events.push(event);
  return events;
}

describe('Server-Sent Events', () => {
  it('round-trips events with multi-line data, however the bytes are split', async () => {
    // Prepare
    const wire =
      encodeServerSentEvent('delta', '{"text":"a"}') + encodeServerSentEvent('done', 'line 1\nline 2');

    // Act
    const whole = await read([wire]);
    const byteByByte = await read([...wire]);

    // Assess
    expect(whole).toEqual([
      { event: 'delta', data: '{"text":"a"}' },
      { event: 'done', data: 'line 1\nline 2' },
    ]);
    expect(byteByByte).toEqual(whole);
  });

  it('reads CRLF and CR line ends, skips comments and events without data, names unnamed ones message', async () => {
    const events = await read([
      ': keep-alive\r\n\r\ndata: one\r',
      '\ndata: two\r\revent: x\n\nevent: y\ndata: 3\n\n',
    ]);
    expect(events).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'y', data: '3' },
    ]);
  });

  it('drops an event the stream ends in the middle of', async () => {
    expect(await read(['data: whole\n\ndata: cut'])).toEqual([{ event: 'message', data: 'whole' }]);
  });
});
