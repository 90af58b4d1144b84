import { describe, expect, it } from 'vitest';
import { OfflineModel } from '../../../lambda/agent/offline-model.js';
import { assistant, storedHistory, user } from './stored-history.js';

describe('OfflineModel', () => {
  const signal = new AbortController().signal;

  it('says how many history messages it was given and what the user said', async () => {
    // Prepare
    const model = new OfflineModel();
    const history = storedHistory(user('a'), assistant('b'), user('c'), assistant('d'));

    // Act
    const reply = await model.reply({ history, messages: [user('hello')], signal });

    // Assess
    expect(reply.role).toBe('assistant');
    expect(reply.content).toBe('[offline] history: 4 messages, you said: hello');
    expect(reply.metadata).toMatchObject({ stopReason: 'end_turn' });
  });

  it('mentions the system prompt and reads text parts', async () => {
    // Act
    const reply = await new OfflineModel('offline-test').reply({
      system: 'Be brief.',
      history: storedHistory(user('a')),
      messages: [user([{ type: 'text', text: 'part one' }])],
      signal,
    });

    // Assess
    expect(reply.content).toBe('[offline] system: "Be brief.", history: 1 message, you said: part one');
  });

  it('answers the same input the same way every time', async () => {
    // Prepare
    const model = new OfflineModel();
    const request = { history: storedHistory(user('a')), messages: [user('x')], signal };

    // Act
    const replies = [await model.reply(request), await model.reply(request)];

    // Assess
    expect(replies[1]).toEqual(replies[0]);
  });
});
