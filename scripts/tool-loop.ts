/**
 * The tool loop of issue 13, driven against a running server (`npm start`, offline model):
 *
 *   npx tsx scripts/tool-loop.ts [baseUrl]        # default http://127.0.0.1:3000
 *
 * 1. a turn offering the tools `weather` and `clock` with "use weather city=Paris": the reply is stored and has
 *    exactly one tool call, weather {"city":"Paris"};
 * 2. the continuation with its result: the final reply names the result; the history is user,
 *    assistant(toolCalls), tool, assistant, each written once, also when the continuation is sent twice with
 *    one Idempotency-Key, or twice at once (with one key, and with two);
 * 3. the same loop streamed: deltas before `done`, `done` equal to the stored messages; a client that hangs up
 *    after the first delta still finds the turn committed, and its retry (same key) gets the stored reply as
 *    one delta.
 * Each check prints a line; any failed check throws. test/e2e/tool-loop.test.ts runs it in CI.
 */
import { randomUUID } from 'node:crypto';
import { AgentMemoryClient, type TurnResult, type TurnStreamEvent } from '../client/index.js';
import { readServerSentEvents } from '../lambda/streaming/server-sent-events.js';

const tools = [
  { name: 'weather', description: 'The weather in a city.', inputSchema: { type: 'object' as const } },
  { name: 'clock', description: 'The time in a city.', inputSchema: { type: 'object' as const } },
];
const weatherResult = '18°C, light rain';
const finalText = `[offline] tool results: weather=${weatherResult}`;

interface StoredShape {
  role: string;
  content: unknown;
  toolCalls?: Array<{ id: string; name: string; arguments: unknown }>;
  toolCallId?: string;
}

function check(condition: boolean, what: string, detail?: unknown): void {
  if (!condition)
    throw new Error(`FAILED: ${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
}

export async function runToolLoop(baseUrl: string, log: (line: string) => void = console.log): Promise<void> {
  const client = new AgentMemoryClient({ baseUrl, retry: { maxAttempts: 1 } });
  const history = async (conversationId: string) =>
    (await client.load(conversationId, { limit: 100 })).messages as StoredShape[];
  const roles = (messages: StoredShape[]) => messages.map((message) => message.role).join(', ');

  /** Step 1 on a fresh conversation: the tool call, checked and stored. */
  const startLoop = async (label: string) => {
    const conversationId = `tool-loop-${label}-${randomUUID()}`;
    const first = await client.turn(conversationId, 'use weather city=Paris', { tools });
    const calls = first.reply.toolCalls ?? [];
    check(first.awaitingToolResults, 'the first reply awaits tool results', first);
    check(calls.length === 1 && calls[0]?.name === 'weather', 'one tool call, weather', calls);
    const call = calls[0] as NonNullable<(typeof calls)[0]>;
    const args = typeof call.arguments === 'string' ? JSON.parse(call.arguments) : call.arguments;
    check(JSON.stringify(args) === '{"city":"Paris"}', 'arguments {"city":"Paris"}', args);
    const stored = await history(conversationId);
    check(roles(stored) === 'user, assistant', 'stored: user, assistant(toolCalls)', roles(stored));
    check(
      JSON.stringify(stored[1]?.toolCalls) === JSON.stringify(calls),
      'the stored tool call is the reply’s',
    );
    return { conversationId, call, toolResults: [{ toolCallId: call.id, content: weatherResult }] };
  };

  const expectLoopDone = async (conversationId: string, final: TurnResult, label: string) => {
    check(!final.awaitingToolResults, `${label}: the final reply calls no tool`);
    check(
      final.reply.content === finalText,
      `${label}: the final reply names the result`,
      final.reply.content,
    );
    const stored = await history(conversationId);
    check(roles(stored) === 'user, assistant, tool, assistant', `${label}: history`, roles(stored));
    check(
      new Set(stored.map((message) => JSON.stringify(message))).size === 4,
      `${label}: each written once`,
    );
    return stored;
  };

  // 1 + 2: the loop, then the same continuation again with the same key.
  {
    const { conversationId, call, toolResults } = await startLoop('replay');
    log(`turn: ${conversationId} -> tool call weather ${JSON.stringify(call.arguments)} (stored)`);
    const key = randomUUID();
    const final = await client.continueTurn(conversationId, toolResults, { tools, idempotencyKey: key });
    const stored = await expectLoopDone(conversationId, final, 'continuation');
    check(
      stored[2]?.toolCallId === call.id && stored[2]?.content === weatherResult,
      'the tool message',
      stored[2],
    );
    log(`continuation -> "${final.reply.content}"; history: ${roles(stored)}`);
    const again = await client.continueTurn(conversationId, toolResults, { tools, idempotencyKey: key });
    check(
      again.replayed && JSON.stringify(again.messages) === JSON.stringify(final.messages),
      'a replay',
      again,
    );
    await expectLoopDone(conversationId, final, 'after the replay');
    log('the same continuation again with its key -> the stored result (replayed), nothing written');
  }

  // 2, concurrently: with one key both answer the one committed result; with two keys one wins, one is 409.
  for (const sameKey of [true, false]) {
    const { conversationId, toolResults } = await startLoop(sameKey ? 'concurrent-key' : 'concurrent');
    const key = randomUUID();
    const outcomes = await Promise.allSettled(
      [0, 1].map(() =>
        client.continueTurn(conversationId, toolResults, {
          tools,
          idempotencyKey: sameKey ? key : randomUUID(),
        }),
      ),
    );
    const answers = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    if (sameKey) {
      check(answers.length === 2, 'both concurrent continuations with one key answer', refusals.map(String));
      check(answers[0]?.version === answers[1]?.version, 'with the same committed version');
    } else {
      check(answers.length >= 1, 'one of two concurrent continuations commits', refusals.map(String));
      for (const refusal of refusals) {
        check(
          (refusal as { code?: string }).code === 'no_pending_tool_calls',
          'the other is 409',
          String(refusal),
        );
      }
    }
    await expectLoopDone(
      conversationId,
      answers[0] as TurnResult,
      sameKey ? 'concurrent, one key' : 'concurrent',
    );
    log(
      `two continuations at once (${sameKey ? 'one key' : 'two keys'}) -> ${answers.length} answered, ` +
        `${refusals.map((refusal) => (refusal as { code?: string }).code).join(', ') || 'none refused'}; written once`,
    );
  }

  // 3: streamed.
  {
    const conversationId = `tool-loop-stream-${randomUUID()}`;
    const events: TurnStreamEvent[] = [];
    const stream = client.streamTurn(conversationId, 'use weather city=Paris', { tools });
    let first: TurnResult | undefined;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        first = next.value;
        break;
      }
      events.push(next.value);
    }
    const callEvents = events.filter((event) => event.type === 'tool_call');
    check(
      callEvents.length === 1 && first.awaitingToolResults,
      'streamed: one tool_call event, awaiting results',
    );
    const call = (first.reply.toolCalls ?? [])[0] as NonNullable<TurnResult['reply']['toolCalls']>[number];
    const key = randomUUID();
    const deltas: string[] = [];
    let done: TurnResult | undefined;
    const continuation = client.streamTurn(
      conversationId,
      { toolResults: [{ toolCallId: call.id, content: weatherResult }] },
      { tools, idempotencyKey: key },
    );
    for (;;) {
      const next = await continuation.next();
      if (next.done) {
        done = next.value;
        break;
      }
      if (next.value.type === 'delta') deltas.push(next.value.text);
    }
    check(deltas.length > 1, 'deltas arrive before done (word by word)', deltas);
    check(deltas.join('') === finalText, 'the deltas concatenate to the stored reply', deltas.join(''));
    const stored = await history(conversationId);
    check(
      JSON.stringify(done.messages) === JSON.stringify(stored.slice(2)),
      '`done` equals the stored messages',
    );
    log(`streamed continuation -> ${deltas.length} deltas, then done (equal to the stored messages)`);

    // A client that hangs up after the first delta.
    const hungUp = await startLoop('hang-up');
    const hangUpKey = randomUUID();
    const request = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'idempotency-key': hangUpKey,
      },
      body: JSON.stringify({ toolResults: hungUp.toolResults, tools }),
    };
    const abort = new AbortController();
    const answer = await fetch(`${baseUrl}/v1/conversations/${hungUp.conversationId}/turns`, {
      ...request,
      signal: abort.signal,
    });
    let firstDelta: string | undefined;
    try {
      for await (const event of readServerSentEvents(answer.body as AsyncIterable<Uint8Array>)) {
        if (event.event === 'delta') {
          firstDelta = (JSON.parse(event.data) as { text: string }).text;
          abort.abort();
          break;
        }
      }
    } catch {
      // The hang-up itself.
    }
    check(firstDelta !== undefined, 'the hung-up client got a first delta');
    let committed: StoredShape[] = [];
    for (let waited = 0; waited < 5000 && committed.length < 4; waited += 50) {
      committed = await history(hungUp.conversationId);
      if (committed.length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check(
      roles(committed) === 'user, assistant, tool, assistant',
      'committed without the client',
      roles(committed),
    );
    const retry = await fetch(`${baseUrl}/v1/conversations/${hungUp.conversationId}/turns`, request);
    const retried = [];
    for await (const event of readServerSentEvents(retry.body as AsyncIterable<Uint8Array>))
      retried.push(event);
    check(
      retried.map((event) => event.event).join(',') === 'delta,done' &&
        (JSON.parse(retried[0]?.data ?? '{}') as { text: string }).text === finalText,
      'the retry with the same key streams the stored reply as one delta',
      retried,
    );
    check((await history(hungUp.conversationId)).length === 4, 'nothing written twice');
    log(
      `client hung up after the first delta "${firstDelta}" -> committed anyway; its retry: one delta + done`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runToolLoop(process.argv[2] ?? 'http://127.0.0.1:3000');
  console.log('tool loop: all checks passed');
}
