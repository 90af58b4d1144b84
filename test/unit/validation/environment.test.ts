import { describe, expect, it } from 'vitest';
import { ConfigurationError, readEnvironment } from '../../../lambda/validation/environment.js';
import { describeIssues } from '../../../lambda/validation/issues.js';
import * as z from '../../../lambda/validation/zod.js';

const schema = z.object({
  NAME: z.string({ error: 'is required' }),
  SIZE: z._default(z.pipe(z.string().check(z.regex(/^\d+$/, 'must be a number')), z.transform(Number)), 3),
});

describe('describeIssues, the one wording of a validation failure', () => {
  it('names the path of each issue, or gives the message alone for the value itself', () => {
    const result = z.object({ a: z.array(z.string()) }).safeParse({ a: [1] });
    const root = z.string().safeParse(1);

    expect(result.success || describeIssues(result.error)).toBe(
      'a.0: Invalid input: expected string, received number',
    );
    expect(root.success || describeIssues(root.error)).toBe(
      'Invalid input: expected string, received number',
    );
  });
});

describe('readEnvironment, the one way to read the environment', () => {
  it('returns the parsed variables with their defaults', () => {
    expect(readEnvironment(schema, { NAME: 'n' })).toEqual({ NAME: 'n', SIZE: 3 });
  });

  it('names every wrong variable, never echoing a value', () => {
    const read = () => readEnvironment(schema, { SIZE: 'secret-value' });

    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow('Invalid environment: NAME: is required; SIZE: must be a number.');
    expect(read).not.toThrow(/secret-value/);
  });

  it('counts an empty variable as unset when asked to, as a shell user means it', () => {
    expect(readEnvironment(schema, { NAME: 'n', SIZE: '' }, { emptyIsUnset: true })).toEqual({
      NAME: 'n',
      SIZE: 3,
    });
    expect(() => readEnvironment(schema, { NAME: 'n', SIZE: '' })).toThrow(/SIZE: must be a number/);
  });
});
