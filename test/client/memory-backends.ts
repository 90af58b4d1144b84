import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { AgentMemoryClient } from '../../client/agent-memory-client.js';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import { StoreConversationMemory } from '../../client/store-conversation-memory.js';
import { tenantHeaderAuth } from '../../client/tenant-header-auth.js';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { compactConversation } from '../../lambda/summaries/compaction.js';
import { OfflineSummarizer } from '../../lambda/summaries/offline-summarizer.js';
import { type ServerProcess, startServer, stopAllServers } from '../e2e/server-process.js';
import { createTestTable } from '../support/dynamodb.js';
import { testAttachmentStorage } from '../support/s3.js';

/**
 * A base64 data URL of `bytes` bytes of `mediaType`: content as large as a screenshot or a PDF, which both backends
 * keep in S3 (the test run's s3rver) and give back inline.
 */
export function largeDataUrl(mediaType: string, bytes: number): string {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) % 251;
  return `data:${mediaType};base64,${data.toString('base64')}`;
}

/** Where a ConversationMemory keeps its data, so tests can reach it from another process too. */
export interface MemoryLocation {
  /** `store`: the table on DynamoDB Local, in-process. `http`: the local server. */
  readonly kind: 'store' | 'http';
  readonly tenant: string;
  readonly dynamoDbEndpoint?: string;
  readonly tableName?: string;
  readonly serverUrl?: string;
}

export interface MemoryBackend {
  readonly name: string;
  start(): Promise<{ memory: ConversationMemory; location: MemoryLocation }>;
  stop(): Promise<void>;
  /**
   * Resolves once the conversation has a summary: the in-process store compacts it here (as the stack's
   * compactor would), the local server does so in its background (woken by the writes), which this waits for.
   */
  summarized(conversationId: string): Promise<void>;
}

let store: ConversationStore | undefined;
let storeTenant = '';
let httpMemory: ConversationMemory | undefined;

/**
 * The two ConversationMemory implementations the adapters are tested on: same tests, both transports, both with
 * attachments on the test run's s3rver (as deployed: large values go to S3 and come back inline).
 */
export const memoryBackends: MemoryBackend[] = [
  {
    name: 'the in-process store on DynamoDB Local',
    async start() {
      const { client, tableName, endpoint } = await createTestTable('client');
      const tenant = `tenant-${randomUUID()}`;
      const memory = new StoreConversationMemory({
        store: new ConversationStore({
          client,
          tableName,
          attachments: { storage: testAttachmentStorage() },
        }),
        tenant,
      });
      store = new ConversationStore({ client, tableName, attachments: { storage: testAttachmentStorage() } });
      storeTenant = tenant;
      return { memory, location: { kind: 'store', tenant, dynamoDbEndpoint: endpoint, tableName } };
    },
    async stop() {},
    async summarized(conversationId) {
      if (store === undefined) throw new Error('not started');
      const result = await compactConversation({
        store,
        summarizer: new OfflineSummarizer(),
        tenant: storeTenant,
        conversationId,
        settings: { policy: { maxMessages: 20, maxTokens: 8000 } },
      });
      if (result.status !== 'compacted') throw new Error(`no summary: ${result.status}`);
    },
  },
  (() => {
    let server: ServerProcess | undefined;
    return {
      name: 'the local server',
      async start() {
        server = await startServer({
          dynamoDbEndpoint: inject('dynamoDbEndpoint'),
          tableName: `client-http-${randomUUID()}`,
          env: { S3_ENDPOINT: inject('s3Endpoint'), ATTACHMENTS_BUCKET: inject('s3Bucket') },
        });
        const tenant = `tenant-${randomUUID()}`;
        const memory = new AgentMemoryClient({ baseUrl: server.url, auth: tenantHeaderAuth(tenant) });
        httpMemory = memory;
        return { memory, location: { kind: 'http', tenant, serverUrl: server.url } };
      },
      async stop() {
        await stopAllServers();
      },
      async summarized(conversationId) {
        const deadline = Date.now() + 30_000;
        while ((await httpMemory?.loadContext(conversationId, 0))?.summary === undefined) {
          if (Date.now() > deadline) throw new Error(`the local server made no summary of ${conversationId}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
    };
  })(),
];
