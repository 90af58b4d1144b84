import { fallbackRoute, type RouteDefinition, routes } from '../lambda/http/routes.js';

/** What API Gateway would pick for a request: a route of the table, or the `$default` fallback. */
export type MatchedRoute =
  | {
      readonly kind: 'route';
      readonly route: RouteDefinition;
      readonly routeKey: string;
      readonly pathParameters: Record<string, string>;
    }
  | { readonly kind: 'fallback'; readonly route: typeof fallbackRoute; readonly routeKey: '$default' };

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
}

/** `{name}` matches one non-empty path segment, like an API Gateway path variable (the table has no `{name+}`). */
function compile(route: RouteDefinition): CompiledRoute {
  const parameterNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (!parameter?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      parameterNames.push(parameter[1]);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), parameterNames };
}

const compiledRoutes = routes.map(compile);

/** API Gateway hands path parameters over decoded; an undecodable one is passed as sent (and rejected). */
function decodePathParameter(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Matches method and raw (still percent-encoded) path against the routes table. */
export function matchRoute(method: string, rawPath: string): MatchedRoute {
  for (const { route, pattern, parameterNames } of compiledRoutes) {
    if (route.method !== method) continue;
    const match = pattern.exec(rawPath);
    if (!match) continue;
    const pathParameters = Object.fromEntries(
      parameterNames.map((name, index) => [name, decodePathParameter(match[index + 1] ?? '')]),
    );
    return { kind: 'route', route, routeKey: `${route.method} ${route.path}`, pathParameters };
  }
  return { kind: 'fallback', route: fallbackRoute, routeKey: '$default' };
}
