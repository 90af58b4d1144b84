import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../local/local-server-config.js';
import { createTestTable } from '../support/dynamodb.js';

const agentScript = join(projectRoot, 'test', 'checkpoints', 'fixtures', 'weather-agent.ts');

interface AgentRun {
  readonly pendingAtStart: unknown[];
  readonly turns: { reply: string; interrupts: unknown[] }[];
  readonly modelInputs: { type: string; text: string; toolCalls?: string[] }[][];
}

describe('a LangGraph agent on DynamoDBSaver, across processes', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;

  /** One run of the agent in a fresh `node --import tsx` process: it shares nothing but the table. */
  async function runAgent(threadId: string, tenant: string, env: Record<string, string>): Promise<AgentRun> {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', agentScript], {
      cwd: projectRoot,
      env: {
        ...process.env,
        DYNAMODB_ENDPOINT: table.endpoint,
        TABLE_NAME: table.tableName,
        TENANT: tenant,
        THREAD_ID: threadId,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as AgentRun;
  }

  beforeAll(async () => {
    table = await createTestTable('langgraph-agent');
  });

  it('runs two turns with a tool in one process and continues the thread in a fresh one', async () => {
    // Prepare
    const tenant = `t-${randomUUID()}`;

    // Act
    const first = await runAgent('chat', tenant, {
      INPUTS: JSON.stringify(['What is the weather in Paris?', 'What did I ask before?']),
    });
    const second = await runAgent('chat', tenant, { INPUTS: JSON.stringify(['And what did I ask first?']) });

    // Assess: turn 1 called the tool and answered with its result; turn 2 saw turn 1.
    expect(first.turns.map((turn) => turn.reply)).toEqual([
      'It is 18°C and sunny in Paris.',
      'Earlier you said: What is the weather in Paris?',
    ]);
    // The fresh process's model got the whole thread from DynamoDB, tool call and result included.
    const [restored] = second.modelInputs;
    expect(restored?.map((message) => message.type)).toEqual([
      'human',
      'ai',
      'tool',
      'ai',
      'human',
      'ai',
      'human',
    ]);
    expect(restored?.[1]?.toolCalls).toEqual(['lookup_weather']);
    expect(restored?.[2]?.text).toBe('18°C and sunny');
    expect(restored?.[6]?.text).toBe('And what did I ask first?');
    expect(second.turns[0]?.reply).toBe(
      'Earlier you said: What is the weather in Paris? | What did I ask before?',
    );
  });

  it('resumes a human-in-the-loop interrupt in a fresh process after the first one exited', async () => {
    // Prepare: the tool asks for approval; the first process stops at the interrupt and exits.
    const tenant = `t-${randomUUID()}`;
    const asked = await runAgent('approval', tenant, {
      APPROVAL: '1',
      INPUTS: JSON.stringify(['What is the weather in Paris?']),
    });

    // Act
    const resumed = await runAgent('approval', tenant, { APPROVAL: '1', RESUME: 'approve' });

    // Assess: interrupted, not answered; the restarted process found the question pending, resumed it, and
    // the tool ran once, with the model seeing the tool call and its result.
    expect(asked.turns[0]?.interrupts).toEqual([{ question: 'May I look up the weather in Paris?' }]);
    expect(asked.modelInputs).toHaveLength(1);
    expect(resumed.pendingAtStart).toEqual([{ question: 'May I look up the weather in Paris?' }]);
    expect(resumed.turns).toEqual([{ reply: 'It is 18°C and sunny in Paris.', interrupts: [] }]);
    expect(resumed.modelInputs.map((input) => input.map((message) => message.type))).toEqual([
      ['human', 'ai', 'tool'],
    ]);
  });
});
