import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  actionsOf,
  allPolicyStatements,
  logicalIdOf,
  resourcesOfType,
  type Synthesized,
  synthConstruct,
  synthStack,
} from './synth.js';

const turnsPath = '/v1/conversations/{conversationId}/turns';

/** The REST API method of the streamed turn route. */
function turnMethod(synth: Synthesized) {
  const methods = Object.values(resourcesOfType(synth.template, 'AWS::ApiGateway::Method'));
  const post = methods.filter((method) => method.Properties.HttpMethod === 'POST');
  expect(post).toHaveLength(1);
  return post[0]?.Properties as Record<string, unknown> & {
    Integration: { Uri: { 'Fn::Join': [string, unknown[]] }; ResponseTransferMode: string; Type: string };
  };
}

const integrationUri = (method: ReturnType<typeof turnMethod>) =>
  JSON.stringify(method.Integration.Uri['Fn::Join'][1]);

describe('AgentMemory: the streaming API', () => {
  let iamStack: Synthesized;
  let jwtStack: Synthesized;

  beforeAll(() => {
    iamStack = synthStack();
    jwtStack = synthStack({
      auth: 'jwt',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'agents,other',
      tenantClaim: 'custom:tenant',
    });
  });

  it('serves POST .../turns on a regional REST API that streams the response of its own turn function', () => {
    // Act
    const method = turnMethod(iamStack);

    // Assess
    iamStack.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    iamStack.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    iamStack.template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'turns' });
    expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' });
    expect(integrationUri(method)).toContain('/response-streaming-invocations');
    expect(integrationUri(method)).toContain(logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function'));
    const streamFunction = resourcesOfType(iamStack.template, 'AWS::Lambda::Function')[
      logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function')
    ];
    expect(streamFunction?.Properties).toMatchObject({ Timeout: 29, MemorySize: 1024 });
  });

  it('lets only this API invoke the streaming function, and only for its method', () => {
    const permissions = Object.values(resourcesOfType(iamStack.template, 'AWS::Lambda::Permission')).filter(
      (permission) =>
        JSON.stringify(permission.Properties.FunctionName).includes(
          logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function'),
        ),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toContain(
      `/POST${turnsPath.replace('{conversationId}', '*')}`,
    );
  });

  it('authorizes with IAM (SigV4) in IAM mode: the tenant is the caller, as on the HTTP API', () => {
    expect(turnMethod(iamStack)).toMatchObject({ AuthorizationType: 'AWS_IAM' });
    iamStack.template.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
  });

  it('authorizes with a JWT TOKEN authorizer in JWT mode, uncached, configured with the issuer and audiences', () => {
    // Act
    const method = turnMethod(jwtStack);

    // Assess
    const authorizerId = logicalIdOf(jwtStack.stack, 'StreamingAuthorizer');
    expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    jwtStack.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 0,
    });
    const authorizerFunction = resourcesOfType(jwtStack.template, 'AWS::Lambda::Function')[
      logicalIdOf(jwtStack.stack, 'StreamingJwtAuthorizer/Function')
    ];
    expect(authorizerFunction?.Properties.Environment).toMatchObject({
      Variables: { JWT_ISSUER: 'https://issuer.example.com/', JWT_AUDIENCE: 'agents,other' },
    });
    // The turn function reads the configured tenant claim from the verified claims, as the HTTP API's does.
    const streamFunction = resourcesOfType(jwtStack.template, 'AWS::Lambda::Function')[
      logicalIdOf(jwtStack.stack, 'AgentTurnsStream/Function')
    ];
    expect(streamFunction?.Properties.Environment).toMatchObject({
      Variables: { TENANT_CLAIM: 'custom:tenant' },
    });
  });

  it('gives the authorizer no table access and the streaming turn function exactly the write actions', () => {
    const actionsOfRole = (synth: Synthesized, id: string) => {
      const policy = logicalIdOf(synth.stack, `${id}/Role/DefaultPolicy`);
      return allPolicyStatements(synth.template)
        .filter((entry) => entry.policy === policy)
        .flatMap(({ statement }) => actionsOf(statement))
        .filter((action) => action.startsWith('dynamodb:'))
        .sort();
    };
    expect(actionsOfRole(jwtStack, 'StreamingJwtAuthorizer')).toEqual([]);
    expect(actionsOfRole(jwtStack, 'AgentTurnsStream')).toEqual(actionsOfRole(jwtStack, 'AgentTurns'));
  });

  it('throttles the stage, logs access as JSON, traces, and answers gateway refusals in the contract shape', () => {
    iamStack.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'stream',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, HttpMethod: '*' }),
      ]),
      AccessLogSetting: Match.objectLike({
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      }),
    });
    iamStack.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseTemplates: {
        'application/json': JSON.stringify({
          error: { code: 'unauthorized', message: 'The request carries no valid token.' },
        }),
      },
    });
    iamStack.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
    });
  });

  it('alarms on the API 5xx and the streaming function, and outputs StreamingApiUrl', () => {
    iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Threshold: 5,
    });
    iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function') } },
      ],
    });
    iamStack.template.hasOutput('StreamingApiUrl', {});
  });

  it('is left out with streaming: false', () => {
    const { template } = synthConstruct({ streaming: false });
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    template.resourceCountIs('AWS::Lambda::Function', 8);
  });
});
