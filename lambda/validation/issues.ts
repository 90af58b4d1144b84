import type * as z from './zod.js';

/**
 * The one way a validation failure is put into words: `path: message` per issue (the message alone when the
 * value itself is wrong), joined by `; `. Request bodies, query strings, headers, stored messages and
 * environment variables are all reported this way.
 */
export function describeIssues(error: { readonly issues: readonly z.core.$ZodIssueBase[] }): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
