import * as z from '../../validation/zod.js';
import { HttpError } from './http-errors.js';
import type { HttpEvent } from './request.js';

/** The store's bound on a tenant; a longer identity is refused here with 403 rather than a confusing 400. */
const maxTenantLength = 512;

const authorizerSchema = z.nullish(
  z.object({
    jwt: z.optional(z.object({ claims: z.record(z.string(), z.unknown()) })),
    iam: z.optional(
      z.object({
        userArn: z.nullish(z.string()),
        cognitoIdentity: z.nullish(z.object({ identityId: z.string().check(z.minLength(1)) })),
      }),
    ),
  }),
);

/**
 * `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`: the session part names one set of temporary
 * credentials (often a random or per-invocation name), not the caller.
 */
const assumedRoleArn = /^(arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+)\/[^/]+$/;

/**
 * The caller's tenant, from the authorizer only: never from the body or a header (X-Tenant-Id is the local
 * server's business, which passes its tenant as a JWT-style `sub` claim).
 *
 * - JWT authorizer: the claim named by TENANT_CLAIM (default `sub`).
 * - IAM authorizer: the caller's principal ARN. An assumed role's ARN loses its session name, so every session
 *   of a role (each Lambda cold start, each `aws sts assume-role`) is one tenant: the role is the principal.
 *   Callers with Cognito identity pool credentials all share the pool's role, so for them the tenant is
 *   their Cognito identity id instead.
 *
 * No authenticated identity is 401; an identity that names no usable tenant is 403.
 */
export function tenantOf(event: HttpEvent, tenantClaim: string): string {
  const parsed = authorizerSchema.safeParse(event.requestContext?.authorizer);
  const authorizer = parsed.success ? parsed.data : undefined;
  if (authorizer?.jwt) {
    const claim = authorizer.jwt.claims[tenantClaim];
    const tenant = typeof claim === 'number' ? String(claim) : claim;
    if (typeof tenant !== 'string') {
      throw new HttpError(
        'forbidden',
        `The token has no '${tenantClaim}' claim to identify the caller's tenant.`,
      );
    }
    return checked(tenant);
  }
  if (authorizer?.iam) {
    const { cognitoIdentity, userArn } = authorizer.iam;
    if (cognitoIdentity) return checked(`cognito-identity:${cognitoIdentity.identityId}`);
    if (!userArn) throw new HttpError('forbidden', 'The caller has no IAM principal ARN.');
    return checked(userArn.replace(assumedRoleArn, '$1'));
  }
  throw new HttpError('unauthorized', 'The request carries no authenticated identity.');
}

function checked(tenant: string): string {
  if (tenant.length < 1 || tenant.length > maxTenantLength) {
    throw new HttpError(
      'forbidden',
      `The caller's identity cannot name a tenant: it must be 1-${maxTenantLength} characters.`,
    );
  }
  return tenant;
}
