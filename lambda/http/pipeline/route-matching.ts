import { type RouteDefinition, routes } from '../routes.js';

export type RouteMatch =
  | {
      readonly kind: 'found';
      readonly route: RouteDefinition;
      /** The path parameters as sent (still URL-encoded): decodePathParameter decodes one. */
      readonly pathParameters: Record<string, string>;
    }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

/**
 * Finds the route for a method and path, as API Gateway would: `{param}` matches one non-empty segment, whose
 * raw (still URL-encoded) text becomes the path parameter. A path some route has, with a method none has,
 * is `method_not_allowed` with the methods that path allows. The one matcher: the 404/405 handler and the
 * local server's dispatch both use it.
 */
export function findRoute(
  method: string,
  path: string,
  table: readonly RouteDefinition[] = routes,
): RouteMatch {
  const segments = path.split('/');
  const allow = new Set<string>();
  for (const route of table) {
    const pathParameters = matchPath(route.path.split('/'), segments);
    if (pathParameters === undefined) continue;
    if (route.method === method.toUpperCase()) return { kind: 'found', route, pathParameters };
    allow.add(route.method);
  }
  return allow.size > 0 ? { kind: 'method_not_allowed', allow: [...allow].sort() } : { kind: 'not_found' };
}

/**
 * A path parameter as API Gateway hands it over: URL-decoded. A malformed escape is left as sent, for the
 * parameter's schema to reject (ids never contain `%`, so decoding an already decoded id changes nothing).
 */
export function decodePathParameter(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function matchPath(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] ?? '';
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name !== undefined && segment !== '') parameters[name] = segment;
    else if (part !== segment) return undefined;
  }
  return parameters;
}
