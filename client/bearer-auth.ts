import type { RequestAuth } from './request-auth.js';

/** A token, or a function returning the current one (called for every attempt, so it may refresh). */
export type BearerToken = string | (() => string | Promise<string>);

/** `Authorization: Bearer <token>` for deployments with a JWT authorizer. */
export function bearerAuth(token: BearerToken): RequestAuth {
  return {
    async headersFor() {
      const value = typeof token === 'function' ? await token() : token;
      if (typeof value !== 'string' || value.length === 0) {
        throw new TypeError('The bearer token is empty.');
      }
      return { authorization: `Bearer ${value}` };
    },
  };
}
