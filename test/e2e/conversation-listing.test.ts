import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { listing } from '../../lambda/memory/table.js';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { type ServerProcess, startServer, stopAllServers } from './server-process.js';

/*
 * Issue 16's acceptance, on a real `npm start` server process: 120 titled conversations for each of two tenants,
 * some deleted; one tenant listed newest first in pages of 50, with and without a prefix: exactly its live
 * conversations, in the contract's order, nothing of the other tenant.
 */

const tenants = ['acme', 'globex'] as const;
const perTenant = 120;
const idOf = (i: number) => `user-${i % 3}:conv-${String(i).padStart(3, '0')}`;
const titleOf = (tenant: string, id: string) => `${tenant}: the ${id} story`;
/** The contract's order: the minute of the last write, newest first, then the id, descending. */
const orderKey = (writtenAt: string, id: string) =>
  `${String(Math.floor(Date.parse(writtenAt) / listing.intervalMs)).padStart(10, '0')}#${id}`;

interface Listed {
  readonly conversationId: string;
  readonly title?: string;
  readonly messageCount: number;
  readonly version: number;
  readonly updatedAt: string;
}

describe('conversation listing on npm start', () => {
  let server: ServerProcess;
  const tableName = `e2e-listing-${randomUUID()}`;
  /** What each tenant's conversations were last written at, as the appends answered (their messages' createdAt). */
  const writtenAt = new Map<string, Map<string, string>>(tenants.map((tenant) => [tenant, new Map()]));
  const deleted = new Set<string>();

  const append = async (tenant: string, id: string, title?: string) => {
    const answer = await server.request('POST', `/v1/conversations/${encodeURIComponent(id)}/messages`, {
      headers: { 'x-tenant-id': tenant },
      body: { messages: [{ role: 'user', content: `Hello from ${tenant}` }], ...(title ? { title } : {}) },
    });
    expect(answer.status).toBe(201);
    writtenAt.get(tenant)?.set(id, answer.json.messages[0].createdAt);
  };

  /** Every page, following nextCursor: the pages' sizes and what they listed. */
  const listAll = async (tenant: string, query: Record<string, string>) => {
    const sizes: number[] = [];
    const listed: Listed[] = [];
    let cursor: string | undefined;
    do {
      const answer = await server.request(
        'GET',
        `/v1/conversations?${new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) })}`,
        { headers: { 'x-tenant-id': tenant } },
      );
      expect(answer.status).toBe(200);
      sizes.push(answer.json.conversations.length);
      listed.push(...answer.json.conversations);
      cursor = answer.json.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return { sizes, listed };
  };

  /** The tenant's live conversations (prefix: of that scope), in the contract's order, from what the test wrote. */
  const expected = (tenant: string, prefix = '') =>
    [...(writtenAt.get(tenant) ?? [])]
      .filter(([id]) => id.startsWith(prefix) && !(tenant === 'acme' && deleted.has(id)))
      .sort(([a, at], [b, bt]) => (orderKey(at, a) < orderKey(bt, b) ? 1 : -1))
      .map(([id]) => id);

  beforeAll(async () => {
    server = await startServer({ dynamoDbEndpoint: inject('dynamoDbEndpoint'), tableName });
    // 120 titled conversations per tenant, the same ids under both (8 requests at a time), then 12 of acme's deleted.
    const work = tenants.flatMap((tenant) =>
      Array.from({ length: perTenant }, (_, i) => () => append(tenant, idOf(i), titleOf(tenant, idOf(i)))),
    );
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let next = work.shift(); next; next = work.shift()) await next();
      }),
    );
    for (let i = 0; i < perTenant; i += 10) {
      const answer = await server.request('DELETE', `/v1/conversations/${encodeURIComponent(idOf(i))}`, {
        headers: { 'x-tenant-id': 'acme' },
      });
      expect(answer.status).toBe(204);
      deleted.add(idOf(i));
    }
  });
  afterAll(() => stopAllServers());

  it("lists one tenant in pages of 50: exactly its live conversations, newest first, titled, none of the other's", async () => {
    // Act
    const { sizes, listed } = await listAll('acme', { limit: '50' });

    // Assess
    expect(sizes).toEqual([50, 50, 8]);
    expect(listed.map((c) => c.conversationId)).toEqual(expected('acme'));
    for (const conversation of listed) {
      expect(conversation).toMatchObject({
        title: titleOf('acme', conversation.conversationId),
        messageCount: 1,
        version: 1,
        updatedAt: writtenAt.get('acme')?.get(conversation.conversationId),
      });
      expect(deleted.has(conversation.conversationId)).toBe(false);
    }
  });

  it('lists one scope of a tenant (prefix user-1:) in pages of 50, exactly', async () => {
    // Act
    const { sizes, listed } = await listAll('acme', { limit: '50', prefix: 'user-1:' });

    // Assess
    expect(listed.map((c) => c.conversationId)).toEqual(expected('acme', 'user-1:'));
    expect(listed.length).toBe(36);
    expect(sizes).toEqual([36]);
    expect(listed.every((c) => c.title === titleOf('acme', c.conversationId))).toBe(true);
  });

  it("keeps the other tenant's conversations its own: all 120, with its titles, though acme deleted the same ids", async () => {
    // Act
    const { listed } = await listAll('globex', { limit: '50' });
    const scoped = await listAll('globex', { limit: '50', prefix: 'user-0:' });

    // Assess
    expect(listed.map((c) => c.conversationId)).toEqual(expected('globex'));
    expect(listed).toHaveLength(120);
    expect(listed.every((c) => c.title === titleOf('globex', c.conversationId))).toBe(true);
    expect(scoped.listed.map((c) => c.conversationId)).toEqual(expected('globex', 'user-0:'));
    const nobody = await listAll('initech', { limit: '50' });
    expect(nobody).toEqual({ sizes: [0], listed: [] });
  });

  it('moves conversations written in later minutes to the top, in the order of their minutes', async () => {
    // Prepare: two of acme's conversations written two and three minutes from now (a writer with its own clock
    // on the server's table), then one of them renamed through the API (a PATCH moves nothing).
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient(localClientConfig(inject('dynamoDbEndpoint'))),
    );
    const inMinutes = (minutes: number) =>
      new ConversationStore({ client, tableName, now: () => Date.now() + minutes * listing.intervalMs });
    for (const [id, minutes] of [
      [idOf(7), 3],
      [idOf(101), 2],
    ] as const) {
      const result = await inMinutes(minutes).append('acme', id, [{ role: 'user', content: 'later' }]);
      writtenAt.get('acme')?.set(id, result.messages[0]?.createdAt as string);
    }
    const renamed = await server.request('PATCH', `/v1/conversations/${encodeURIComponent(idOf(101))}`, {
      headers: { 'x-tenant-id': 'acme' },
      body: { title: 'Renamed' },
    });
    client.destroy();

    // Act
    const { listed } = await listAll('acme', { limit: '50' });

    // Assess
    expect(renamed.status).toBe(200);
    expect(listed.map((c) => c.conversationId)).toEqual(expected('acme'));
    expect(listed.slice(0, 2).map((c) => [c.conversationId, c.title, c.messageCount])).toEqual([
      [idOf(7), titleOf('acme', idOf(7)), 2],
      [idOf(101), 'Renamed', 2],
    ]);
  });
});
