import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambda/http/handlers/patch-conversation.js';
import { store } from '../../../lambda/http/runtime/store.js';
import {
  ConversationNotFoundError,
  IdempotencyKeyReusedError,
  PayloadTooLargeError,
  RevisionConflictError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from '../../../lambda/memory/errors.js';
import type { PatchResult } from '../../../lambda/memory/store-types.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { stubStore } from './store-stub.js';

const stub = stubStore(store);
const conversation = {
  conversationId: 'conv-1',
  version: 3,
  messageCount: 3,
  createdAt: '2026-11-30T12:00:00.000Z',
  updatedAt: '2026-11-30T12:00:00.000Z',
  title: 'Refund',
  metadata: { tags: ['billing'] },
  revision: 3,
};
const patched = (fields: Partial<PatchResult> = {}): PatchResult => ({
  ...conversation,
  replayed: false,
  consumedCapacity: 4,
  ...fields,
});
const patch = (body: unknown, headers: Record<string, string> = {}) =>
  handler(conversationEvent('PATCH', 'conv-1', { body, headers }));

describe('patchConversation handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.patchConversation.mockResolvedValue(patched());
  });

  it('answers 200 with the conversation after the change, passing the patch and its conditions on', async () => {
    // Act
    const response = await patch(
      {
        title: 'Refund',
        metadata: { tags: ['billing'], old: null },
        expectedRevision: 2,
        expectedVersion: 3,
      },
      { 'Idempotency-Key': 'patch-1' },
    );

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(jsonBody(response)).toEqual(conversation);
    expect(stub.patchConversation).toHaveBeenCalledWith(
      'tenant-a',
      'conv-1',
      { title: 'Refund', metadata: { tags: ['billing'], old: null } },
      { expectedVersion: 3, expectedRevision: 2, idempotencyKey: 'patch-1' },
    );
  });

  it('passes null on: a removed title, removed metadata', async () => {
    // Act
    await patch({ title: null, metadata: null });

    // Assess
    expect(stub.patchConversation).toHaveBeenCalledWith(
      'tenant-a',
      'conv-1',
      { title: null, metadata: null },
      { expectedVersion: undefined, expectedRevision: undefined, idempotencyKey: undefined },
    );
  });

  it('answers a replay with Idempotent-Replayed: true and the original answer', async () => {
    // Prepare
    stub.patchConversation.mockResolvedValue(patched({ replayed: true }));

    // Act
    const response = await patch({ title: 'Refund' }, { 'Idempotency-Key': 'patch-1' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Idempotent-Replayed']).toBe('true');
    expect(jsonBody(response)).toEqual(conversation);
  });

  it.each([
    ['a conversation that does not live', new ConversationNotFoundError('conv-1'), 404, 'not_found', {}],
    ['another revision', new RevisionConflictError(5), 409, 'revision_conflict', { currentRevision: 5 }],
    ['another version', new VersionConflictError(7), 409, 'version_conflict', { currentVersion: 7 }],
    ['a key used for another request', new IdempotencyKeyReusedError(), 422, 'idempotency_key_reused', {}],
    ['metadata over 4 KiB once merged', new PayloadTooLargeError('too large'), 413, 'payload_too_large', {}],
    ['an outcome DynamoDB did not confirm', new WriteOutcomeUnknownError(), 503, 'unavailable', {}],
  ])('answers %s as %i %s', async (_, error, status, code, details) => {
    // Prepare
    stub.patchConversation.mockRejectedValue(error);

    // Act
    const response = await patch({ title: 'Refund', expectedRevision: 2 });

    // Assess
    expect(response.statusCode).toBe(status);
    expect(jsonBody(response).error).toMatchObject({ code, ...details });
  });

  it.each([
    ['an empty patch', {}],
    ['only conditions', { expectedRevision: 1 }],
    ['an unknown field', { title: 'x', colour: 'red' }],
    ['a blank title', { title: '   ' }],
    ['a title over 256 characters', { title: 'x'.repeat(257) }],
    ['metadata that is not an object', { metadata: ['a'] }],
    ['a negative expectedRevision', { title: 'x', expectedRevision: -1 }],
  ])('answers %s with 400 invalid_request, without the store', async (_, body) => {
    // Act
    const response = await patch(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(stub.patchConversation).not.toHaveBeenCalled();
  });
});
