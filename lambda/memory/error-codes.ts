/**
 * Every error code of the HTTP contract (docs/http-contract.md), with its status: the one list. The store's
 * errors (./errors.ts), the agent's, the HTTP layer's mapper and schemas, and the client's typed errors
 * (client/errors.ts) are typed against it, so a code that one side forgets does not compile. It lives with
 * the store, the bottom layer that every other side imports, and imports nothing itself.
 */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  version_conflict: 409,
  suffix_mismatch: 409,
  no_pending_tool_calls: 409,
  revision_conflict: 409,
  idempotency_result_gone: 410,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  tool_results_mismatch: 422,
  invalid_upload: 422,
  throttled: 429,
  internal: 500,
  model_error: 502,
  unavailable: 503,
  model_timeout: 504,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export const errorCodes = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];
