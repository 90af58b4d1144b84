import { type RouteDefinition, routes } from './routes.js';

export type RouteMatch =
  | {
      readonly kind: 'found';
      readonly route: RouteDefinition;
      readonly pathParameters: Record<string, string>;
    }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

/**
 * Finds the route for a method and path, as API Gateway would: `{param}` matches one non-empty segment, whose
 * raw (still URL-encoded) text becomes the path parameter. A path some route has, with a method none has,
 * is `method_not_allowed` with the methods that path allows.
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
