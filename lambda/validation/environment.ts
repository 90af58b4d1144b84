import { describeIssues } from './issues.js';
import type * as z from './zod.js';

/** A variable of the process's environment is missing or wrong. Thrown at start (a Lambda's cold start). */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * The one way the code reads its environment: once, at start, through a schema of every variable it reads.
 * A wrong environment fails with every wrong variable named (`Invalid environment: TABLE_NAME: is required.`),
 * never with a value, so a secret cannot leak into an error message. `emptyIsUnset` makes `VAR=` mean unset,
 * as a shell user expects; a deployed function's variables are written by the stack and taken as they are.
 */
export function readEnvironment<S extends z.ZodMiniType>(
  schema: S,
  environment: Readonly<Record<string, string | undefined>>,
  options: { readonly emptyIsUnset?: boolean } = {},
): z.output<S> {
  const input = options.emptyIsUnset
    ? Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''))
    : environment;
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigurationError(`Invalid environment: ${describeIssues(result.error)}.`);
  return result.data;
}
