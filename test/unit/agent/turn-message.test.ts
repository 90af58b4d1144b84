import { describe, expect, it } from 'vitest';
import { turnMessageSchema, userMessageOf } from '../../../lambda/agent/turn-message.js';
import { InvalidRequestError, PayloadTooLargeError } from '../../../lambda/memory/errors.js';

describe('userMessageOf', () => {
  it('makes a string a user message', () => {
    // Act
    const message = userMessageOf('hello');

    // Assess
    expect(message).toEqual({ role: 'user', content: 'hello' });
  });

  it('keeps a user message exactly, unknown part fields included', () => {
    // Prepare
    const input = {
      id: 'client-1',
      role: 'user',
      content: [{ type: 'text', text: 'hi', cache: { ttl: 5 } }],
      metadata: { source: 'web' },
    };

    // Act
    const message = userMessageOf(input);

    // Assess
    expect(message).toEqual(input);
  });

  it.each([
    ['a blank string', '   ', 'message content must not be empty.'],
    ['empty parts', { role: 'user', content: [] }, 'message content must not be empty.'],
    ['another role', { role: 'assistant', content: 'hi' }, 'message must have role "user".'],
    ['an unknown field', { role: 'user', content: 'hi', extra: 1 }, 'message'],
    ['not a message', 42, 'message'],
  ])('rejects %s with InvalidRequestError', (_name, input, expected) => {
    // Act
    const act = () => userMessageOf(input);

    // Assess
    expect(act).toThrow(InvalidRequestError);
    expect(act).toThrow(expected);
  });

  it('rejects a message over 256 KiB with PayloadTooLargeError', () => {
    // Act
    const act = () => userMessageOf('x'.repeat(300 * 1024));

    // Assess
    expect(act).toThrow(PayloadTooLargeError);
  });
});

describe('turnMessageSchema', () => {
  it.each([
    ['hello', true],
    ['  ', false],
    [{ role: 'user', content: 'hi' }, true],
    [{ role: 'user', content: '' }, false],
    [{ role: 'tool', content: 'hi', toolCallId: 'c' }, false],
  ])('accepts %o: %s', (input, accepted) => {
    // Act
    const result = turnMessageSchema.safeParse(input);

    // Assess
    expect(result.success).toBe(accepted);
  });
});
