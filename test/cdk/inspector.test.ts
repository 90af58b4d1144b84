import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  allPolicyStatements,
  bundleOf,
  logicalIdOf,
  resourcesOfType,
  synthConstruct,
  synthStack,
} from './synth.js';

const jwt = { type: 'jwt', issuer: 'https://issuer.example.com/', audience: ['agents'] } as const;

describe('AgentMemory inspector', () => {
  it('is off by default: no /inspector route', () => {
    // Act
    const { template } = synthConstruct({ auth: jwt });

    // Assess
    const routeKeys = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(routeKeys).not.toContain('GET /inspector');
  });

  it('serves GET /inspector without the authorizer, from a function that cannot reach the table', () => {
    // Act
    const synth = synthConstruct({ auth: jwt, inspector: true });

    // Assess
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /inspector',
      AuthorizationType: 'NONE',
    });
    // Every other route still has the JWT authorizer.
    const others = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route')).filter(
      (route) => !['GET /inspector', 'GET /health'].includes(route.Properties.RouteKey as string),
    );
    expect(others.length).toBeGreaterThan(5);
    for (const route of others) expect(route.Properties.AuthorizationType).toBe('JWT');
    const functionId = logicalIdOf(synth.stack, 'InspectorPage/Function');
    const prefix = functionId.replace(/Function[0-9A-F]{8}$/, '');
    const statements = allPolicyStatements(synth.template).filter(({ policy }) => policy.startsWith(prefix));
    expect(statements.length).toBeGreaterThan(0); // its logs and X-Ray
    expect(
      statements.flatMap(({ statement }) => actionsOf(statement)).filter((a) => a.startsWith('dynamodb:')),
    ).toEqual([]);
  });

  it('refuses IAM auth: a browser cannot sign SigV4 requests', () => {
    expect(() => synthConstruct({ inspector: true })).toThrow(/^inspector needs auth of type 'jwt'/);
  });

  it('is -c inspector=true on the stack, with an InspectorUrl output', () => {
    // Act
    const { template } = synthStack({
      auth: 'jwt',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'agents',
      inspector: 'true',
    });

    // Assess
    template.hasOutput('InspectorUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('inspector$')])] },
    });
    expect(() => synthStack({ inspector: 'yes' })).toThrow(/Context 'inspector': expected true or false/);
    expect(() => synthStack({ inspector: 'true' })).toThrow(/^Context 'inspector': needs auth of type 'jwt'/);
  });

  it('bundles the page next to the handler, which answers it with the bearer-token sign-in', async () => {
    // Act
    const synth = synthConstruct({ auth: jwt, inspector: true }, { bundle: true });
    const { path } = bundleOf(synth, logicalIdOf(synth.stack, 'InspectorPage/Function'));
    const module = (await import(/* @vite-ignore */ pathToFileURL(path).href)) as {
      handler: () => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
    };
    const response = await module.handler();

    // Assess
    expect(existsSync(join(dirname(path), 'inspector.html'))).toBe(true);
    expect(response.statusCode).toBe(200);
    expect(response.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<meta name="agent-memory-auth" content="bearer">');
    expect(response.body).toContain(
      readFileSync(join(dirname(path), 'inspector.html'), 'utf8').slice(0, 200),
    );
    // The handler carries no page code of its own, nor an AWS SDK: it reads one file.
    expect(Buffer.byteLength(readFileSync(path, 'utf8'))).toBeLessThan(10_000);
  }, 120_000);
});
