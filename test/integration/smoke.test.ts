import { describe, expect, it } from 'vitest';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { createTestTable } from '../support/dynamodb.js';

describe('smoke', () => {
  it('appends and loads', async () => {
    const { client, tableName } = await createTestTable();
    const store = new ConversationStore({ client, tableName });
    const first = await store.append('t1', 'c1', [{ role: 'user', content: 'hi' }], { idempotencyKey: 'k1' });
    const second = await store.append('t1', 'c1', [{ role: 'assistant', content: 'hello' }], {
      expectedVersion: 1,
    });
    const replay = await store.append('t1', 'c1', [{ role: 'user', content: 'hi' }], {
      idempotencyKey: 'k1',
    });
    const stale = await store
      .append('t1', 'c1', [{ role: 'user', content: 'x' }], { expectedVersion: 1 })
      .catch((e) => e);
    const page = await store.load('t1', 'c1');
    console.log(
      JSON.stringify({ first, second, replay, stale: [stale.name, stale.currentVersion], page }, null, 1),
    );
    expect(page.version).toBe(2);
  });
});
