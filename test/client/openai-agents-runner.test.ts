import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AgentInputItem } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import { projectRoot } from '../../local/local-server-config.js';
import { type MemoryLocation, memoryBackends } from './memory-backends.js';

const fixture = join(projectRoot, 'test', 'client', 'fixtures', 'openai-agents-turn.ts');

interface TurnOutput {
  readonly finalOutput: string;
  readonly modelInputs: AgentInputItem[][];
}

/** One turn in a fresh `npx tsx` process: nothing is shared with the test or with another turn but the data. */
async function turnInFreshProcess(
  location: MemoryLocation,
  sessionId: string,
  input: string,
): Promise<TurnOutput> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MEMORY_KIND: location.kind,
    TENANT: location.tenant,
    SESSION_ID: sessionId,
    USER_INPUT: input,
    OPENAI_AGENTS_DISABLE_TRACING: '1',
    ...(location.dynamoDbEndpoint ? { DYNAMODB_ENDPOINT: location.dynamoDbEndpoint } : {}),
    ...(location.tableName ? { TABLE_NAME: location.tableName } : {}),
    ...(location.serverUrl ? { SERVER_URL: location.serverUrl } : {}),
  };
  delete env.OPENAI_API_KEY;
  const { stdout } = await promisify(execFile)('npx', ['tsx', fixture], {
    cwd: projectRoot,
    env,
    timeout: 60_000,
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as TurnOutput;
}

const textOf = (item: AgentInputItem | undefined) => JSON.stringify(item);

describe.each(memoryBackends)('an @openai/agents Runner with AgentMemorySession on $name', (backend) => {
  let memory: ConversationMemory;
  let location: MemoryLocation;

  beforeAll(async () => {
    ({ memory, location } = await backend.start());
  });
  afterAll(() => backend.stop());

  it('continues in a fresh process the conversation a first process stored', async () => {
    // Prepare
    const sessionId = `runner-${randomUUID()}`;

    // Act
    const first = await turnInFreshProcess(location, sessionId, 'What is the weather in Paris?');
    const second = await turnInFreshProcess(location, sessionId, 'What did I ask before?');

    // Assess: turn 1 ran the tool and answered.
    expect(first.finalOutput).toBe('It is 18°C and sunny in Paris.');
    expect(first.modelInputs).toHaveLength(2);
    // Turn 2's model received turn 1's items, restored from the database, before the new input.
    const [secondInput] = second.modelInputs;
    expect(secondInput?.map((item) => item.type ?? 'message')).toEqual([
      'message',
      'function_call',
      'function_call_result',
      'message',
      'message',
    ]);
    expect(secondInput?.[0]).toMatchObject({ role: 'user', content: 'What is the weather in Paris?' });
    expect(secondInput?.[1]).toMatchObject({
      type: 'function_call',
      callId: 'call_weather_1',
      name: 'lookup_weather',
    });
    expect(secondInput?.[2]).toMatchObject({ type: 'function_call_result', callId: 'call_weather_1' });
    expect(textOf(secondInput?.[2])).toContain('18°C and sunny');
    expect(textOf(secondInput?.[3])).toContain('It is 18°C and sunny in Paris.');
    expect(secondInput?.[4]).toMatchObject({ role: 'user', content: 'What did I ask before?' });
    expect(second.finalOutput).toBe('Earlier you said: What is the weather in Paris?');

    // The stored conversation reads sensibly to any other client.
    const { messages } = await memory.loadAll(sessionId);
    expect(
      messages.map(({ role, toolCalls, toolCallId }) => ({ role, calls: toolCalls?.length, toolCallId })),
    ).toEqual([
      { role: 'user', calls: undefined, toolCallId: undefined },
      { role: 'assistant', calls: 1, toolCallId: undefined },
      { role: 'tool', calls: undefined, toolCallId: 'call_weather_1' },
      { role: 'assistant', calls: undefined, toolCallId: undefined },
      { role: 'user', calls: undefined, toolCallId: undefined },
      { role: 'assistant', calls: undefined, toolCallId: undefined },
    ]);
  });
});
