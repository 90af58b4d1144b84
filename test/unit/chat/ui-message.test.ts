import { describe, expect, it } from 'vitest';
import {
  modelMessagesOf,
  replyParts,
  storedFormOf,
  type UIMessageJson,
  uiMessagesOf,
} from '../../../lambda/chat/ui-message.js';
import type { MessageInput, StoredMessage } from '../../../lambda/memory/message.js';

let seq = 0;
const stored = (message: MessageInput): StoredMessage => ({
  id: `m${++seq}`,
  ...message,
  seq,
  createdAt: '2026-01-01T00:00:00.000Z',
});

const assistant: UIMessageJson = {
  id: 'a1',
  role: 'assistant',
  metadata: { rating: 5 },
  parts: [
    { type: 'step-start' },
    { type: 'reasoning', text: 'hmm', state: 'done' },
    { type: 'text', text: 'Checking ', state: 'done' },
    { type: 'text', text: 'both.', state: 'done' },
    {
      type: 'tool-weather',
      toolCallId: 'c1',
      state: 'output-available',
      input: { city: 'Paris' },
      output: { t: 18 },
    },
    {
      type: 'tool-weather',
      toolCallId: 'c2',
      state: 'output-error',
      input: { city: 'Rome' },
      errorText: 'down',
    },
    { type: 'dynamic-tool', toolName: 'search', toolCallId: 'c3', state: 'output-denied', input: {} },
    { type: 'tool-weather', toolCallId: 'c4', state: 'input-streaming', input: { ci: 1 } },
    { type: 'step-start' },
    { type: 'data-card', data: { x: 1 } },
    { type: 'source-url', sourceId: 's', url: 'https://example.com' },
    { type: 'text', text: 'Paris is warm.', state: 'done' },
    { type: 'tool-clock', toolCallId: 'c5', state: 'input-available', input: {} },
  ],
};

describe('UI messages in the store', () => {
  describe('storedFormOf / uiMessagesOf', () => {
    it('stores the parts as content and the metadata under metadata.aiSdk, and reads both back exactly', () => {
      // Act
      const form = storedFormOf(assistant, { interrupted: 'aborted', metadata: { model: 'm' } });
      const [read] = uiMessagesOf([stored(form)]);

      // Assess
      expect(form).toEqual({
        id: 'a1',
        role: 'assistant',
        content: assistant.parts,
        metadata: { model: 'm', aiSdk: { metadata: { rating: 5 }, interrupted: 'aborted' } },
      });
      expect(read?.message).toEqual(assistant);
    });

    it('reads messages written by others: user, system, and one assistant message per tool round', () => {
      // Prepare
      const history = [
        stored({ role: 'system', content: 'Be brief.' }),
        stored({
          role: 'user',
          content: [
            { type: 'text', text: 'See' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        }),
        stored({
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' },
            { id: 'c2', name: 'clock', arguments: {} },
          ],
        }),
        stored({ role: 'tool', toolCallId: 'c1', content: '-3°C' }),
        stored({ role: 'tool', toolCallId: 'c2', content: 'no clock', metadata: { isError: true } }),
        stored({ role: 'assistant', content: 'Cold.' }),
        stored({ role: 'tool', content: 'orphan' }),
        stored(storedFormOf({ id: 'u9', role: 'user', parts: [{ type: 'text', text: 'ui' }] })),
      ];

      // Act
      const read = uiMessagesOf(history);

      // Assess
      expect(read.map((source) => source.stored.length)).toEqual([1, 1, 5, 1]);
      expect(read.map((source) => source.message)).toEqual([
        { id: history[0]?.id, role: 'system', parts: [{ type: 'text', text: 'Be brief.', state: 'done' }] },
        {
          id: history[1]?.id,
          role: 'user',
          parts: [
            { type: 'text', text: 'See', state: 'done' },
            { type: 'file', mediaType: 'image/png', url: 'data:image/png;base64,AAAA' },
          ],
        },
        {
          id: history[2]?.id,
          role: 'assistant',
          parts: [
            { type: 'step-start' },
            {
              type: 'tool-weather',
              toolCallId: 'c1',
              state: 'output-available',
              input: { city: 'Oslo' },
              output: '-3°C',
            },
            { type: 'tool-clock', toolCallId: 'c2', state: 'output-error', input: {}, errorText: 'no clock' },
            { type: 'step-start' },
            { type: 'text', text: 'Cold.', state: 'done' },
            { type: 'text', text: '[tool result] orphan', state: 'done' },
          ],
        },
        { id: 'u9', role: 'user', parts: [{ type: 'text', text: 'ui' }] },
      ]);
    });
  });

  describe('modelMessagesOf', () => {
    it('expands a UI assistant message per step: text, the complete calls, then their results', () => {
      // Prepare
      const message = stored(storedFormOf(assistant));

      // Act
      const expanded = modelMessagesOf([message]);

      // Assess
      const base = { id: message.id, seq: message.seq, createdAt: message.createdAt };
      expect(expanded).toEqual([
        {
          ...base,
          role: 'assistant',
          content: 'Checking both.',
          toolCalls: [
            { id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
            { id: 'c2', name: 'weather', arguments: '{"city":"Rome"}' },
            { id: 'c3', name: 'search', arguments: '{}' },
          ],
        },
        { ...base, role: 'tool', toolCallId: 'c1', name: 'weather', content: '{"t":18}' },
        {
          ...base,
          role: 'tool',
          toolCallId: 'c2',
          name: 'weather',
          content: 'down',
          metadata: { isError: true },
        },
        {
          ...base,
          role: 'tool',
          toolCallId: 'c3',
          name: 'search',
          content: 'The tool call was denied.',
          metadata: { isError: true },
        },
        {
          ...base,
          role: 'assistant',
          content: 'Paris is warm.',
          toolCalls: [{ id: 'c5', name: 'clock', arguments: '{}' }],
        },
      ]);
    });

    it('gives a user message its text and files (images as image_url) and drops what a model is not sent', () => {
      // Prepare
      const user = storedFormOf({
        id: 'u1',
        role: 'user',
        parts: [
          { type: 'text', text: 'Look' },
          { type: 'file', mediaType: 'image/jpeg', url: 'https://example.com/a.jpg' },
          { type: 'file', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' },
          { type: 'data-context', data: {} },
        ],
      });
      const onlyData = storedFormOf({ id: 'u2', role: 'user', parts: [{ type: 'data-x', data: 1 }] });
      const plain: MessageInput = { role: 'user', content: 'as is', metadata: { other: true } };

      // Act
      const expanded = modelMessagesOf([user, onlyData, plain]);

      // Assess
      expect(expanded).toEqual([
        {
          id: 'u1',
          role: 'user',
          content: [
            { type: 'text', text: 'Look' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
            { type: 'file', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' },
          ],
        },
        plain,
      ]);
    });
  });

  describe('replyParts', () => {
    it('turns a reply into one step: its text and a static tool part per call', () => {
      expect(
        replyParts({
          content: 'On it.',
          toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Lima"}' }],
        }),
      ).toEqual([
        { type: 'step-start' },
        { type: 'text', text: 'On it.', state: 'done' },
        { type: 'tool-weather', toolCallId: 'c1', state: 'input-available', input: { city: 'Lima' } },
      ]);
      expect(replyParts({ content: [] })).toEqual([{ type: 'step-start' }]);
    });
  });
});
