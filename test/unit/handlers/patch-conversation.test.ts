import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/patch-conversation.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2026-11-30T12:00:00.000Z';
const head = { pk, sk: keys.head, version: 3, messageCount: 3, createdAt, updatedAt: createdAt };

const patchEvent = (body: unknown, headers: Record<string, string> = {}) =>
  conversationEvent('PATCH', 'conv-1', { body, headers });

/** Answers the head read with `item`, and any other read (an idempotency record) with nothing. */
function headIs(item: Record<string, unknown> | undefined) {
  dynamo.on(GetCommand).callsFake((input: { Key: { sk: string } }) => ({
    ...(input.Key.sk === keys.head && item ? { Item: item } : {}),
  }));
}

describe('patchConversation handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('answers 200 with the conversation, writing title, metadata and the next revision on the life it read', async () => {
    // Prepare
    headIs({ ...head, meta: '{"tags":["a"],"keep":1}', revision: 2 });
    dynamo.on(TransactWriteCommand).resolves({});

    // Act
    const response = await handler(patchEvent({ title: 'Refund', metadata: { tags: ['b'], pinned: true } }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Idempotent-Replayed']).toBeUndefined();
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 3,
      messageCount: 3,
      createdAt,
      updatedAt: createdAt,
      title: 'Refund',
      metadata: { tags: ['b'], keep: 1, pinned: true },
      revision: 3,
    });
    const [update] = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(update?.Update).toMatchObject({
      Key: { pk, sk: keys.head },
      UpdateExpression: 'SET revision = :next, patchOp = :op, title = :title, meta = :meta',
      ConditionExpression: expect.stringContaining('createdAt = :createdAt AND revision = :revision'),
      ExpressionAttributeValues: expect.objectContaining({
        ':revision': 2,
        ':next': 3,
        ':title': 'Refund',
        ':meta': '{"tags":["b"],"keep":1,"pinned":true}',
        ':createdAt': createdAt,
      }),
    });
  });

  it('replays a keyed PATCH from its record: 200, Idempotent-Replayed, the original answer, nothing written', async () => {
    // Prepare: the first PATCH writes its record; the second request finds it
    headIs(head);
    dynamo.on(TransactWriteCommand).resolves({});
    const original = jsonBody(await handler(patchEvent({ title: 'One' }, { 'Idempotency-Key': 'k1' })));
    const record = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1]?.Put?.Item;
    dynamo.reset();
    dynamo.on(GetCommand).callsFake((input: { Key: { sk: string } }) => ({
      Item: input.Key.sk === keys.head ? { ...head, title: 'Later', revision: 2 } : record,
    }));

    // Act
    const response = await handler(patchEvent({ title: 'One' }, { 'Idempotency-Key': 'k1' }));

    // Assess
    expect(record).toMatchObject({ sk: keys.idempotency('k1'), firstSeq: 4, lastSeq: 3 });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Idempotent-Replayed']).toBe('true');
    expect(jsonBody(response)).toEqual(original);
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 404 not_found for a conversation that does not live', async () => {
    for (const item of [undefined, { pk, sk: keys.head, version: 3, deleted: true }]) {
      // Prepare
      dynamo.reset();
      headIs(item);

      // Act
      const response = await handler(patchEvent({ title: 'x' }));

      // Assess
      expect(response.statusCode).toBe(404);
      expect(jsonBody(response).error.code).toBe('not_found');
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    }
  });

  it('answers 409 revision_conflict with currentRevision, and 409 version_conflict with currentVersion', async () => {
    // Prepare
    headIs({ ...head, revision: 4 });

    // Act
    const revision = await handler(patchEvent({ title: 'x', expectedRevision: 3 }));
    const version = await handler(patchEvent({ title: 'x', expectedVersion: 2 }));

    // Assess
    expect(revision.statusCode).toBe(409);
    expect(jsonBody(revision).error).toMatchObject({ code: 'revision_conflict', currentRevision: 4 });
    expect(version.statusCode).toBe(409);
    expect(jsonBody(version).error).toMatchObject({ code: 'version_conflict', currentVersion: 3 });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('reads again and merges anew when another PATCH wins the race', async () => {
    // Prepare: the first commit loses to a PATCH that set a tag; the second read sees it
    let reads = 0;
    dynamo.on(GetCommand).callsFake(() => ({
      Item: reads++ === 0 ? head : { ...head, meta: '{"tag":"theirs"}', revision: 1 },
    }));
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed', Item: marshall({ ...head, revision: 1 }) }],
        }),
      )
      .resolves({});

    // Act
    const response = await handler(patchEvent({ metadata: { mine: true } }));

    // Assess
    expect(jsonBody(response)).toMatchObject({ metadata: { tag: 'theirs', mine: true }, revision: 2 });
  });

  it.each([
    [{}],
    [{ color: 'red' }],
    [{ title: '' }],
    [{ title: ' \t ' }],
    [{ title: 'x'.repeat(257) }],
    [{ title: 7 }],
    [{ metadata: [1, 2] }],
    [{ metadata: 'text' }],
    [{ title: 'x', expectedRevision: -1 }],
  ])('answers 400 invalid_request for the body %j, reading nothing', async (body) => {
    // Act
    const response = await handler(patchEvent(body));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('answers 413 payload_too_large when the merged metadata would pass 4 KiB', async () => {
    // Prepare
    headIs({ ...head, meta: JSON.stringify({ a: 'x'.repeat(3000) }) });

    // Act
    const response = await handler(patchEvent({ metadata: { b: 'y'.repeat(1100) } }));

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error.code).toBe('payload_too_large');
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});
