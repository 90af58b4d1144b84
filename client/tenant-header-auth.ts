import type { RequestAuth } from './request-auth.js';

/**
 * `X-Tenant-Id` for the local server (`npm start`), which takes the tenant from this header. The deployed stack
 * ignores it: there the tenant comes from the authorizer.
 */
export function tenantHeaderAuth(tenant: string): RequestAuth {
  if (!/^[A-Za-z0-9._:@-]{1,256}$/.test(tenant)) {
    throw new TypeError('The tenant must be 1-256 characters of A-Z a-z 0-9 . _ : @ -');
  }
  return { headersFor: async () => ({ 'x-tenant-id': tenant }) };
}
