import type { Context } from 'aws-lambda';

/**
 * Kept back from the turn function's own deadline for the commit and the answer: a model still running then is
 * stopped and the turn ends as a clean `504 model_timeout`, never as a function killed mid-request. The stack
 * checks that the model timeout leaves at least this much of the function timeout.
 */
export const commitReserveMs = 3000;

/** Aborts `commitReserveMs` before the function's deadline; none without a Lambda context (tests). */
export function functionDeadline(context: Context | undefined): AbortSignal | undefined {
  if (context === undefined) return undefined;
  return AbortSignal.timeout(Math.max(1, context.getRemainingTimeInMillis() - commitReserveMs));
}
