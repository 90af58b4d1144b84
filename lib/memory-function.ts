import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The package root: the repository when running from source (bundling resolves the lock file from here,
 * whatever the cwd), or `dist/` in the installed package.
 */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The built package carries every handler prebuilt (scripts/build-package.ts), under this folder of its root,
 * so a consumer's synth needs neither esbuild nor our lock file. The sources have no such folder: there the
 * handlers are bundled at synth, with the options below.
 */
export const prebuiltBundlesFolder = 'bundles';

/** Where a handler's prebuilt bundle (`index.mjs` and its source map) lives, relative to the package root. */
export function prebuiltBundlePath(entry: string): string {
  return join(prebuiltBundlesFolder, relative(projectRoot, entry).replace(/\.ts$/, ''));
}

/**
 * How a handler gets bundled: one of ours from the built package (prebuilt), or from source at synth with our
 * lock file; a handler outside this package (a route an app adds) is bundled at synth in the app's project.
 */
function handlerCode(
  entry: string,
): { prebuilt: string } | { projectRoot: string; depsLockFilePath: string } | undefined {
  if (relative(projectRoot, entry).startsWith('..')) return undefined;
  if (!existsSync(join(projectRoot, prebuiltBundlesFolder))) {
    return { projectRoot, depsLockFilePath: join(projectRoot, 'package-lock.json') };
  }
  const folder = join(projectRoot, prebuiltBundlePath(entry));
  if (!existsSync(join(folder, 'index.mjs'))) {
    throw new Error(`No prebuilt bundle for ${entry} in ${folder}: the package was built without it.`);
  }
  return { prebuilt: folder };
}

/** Oldest Node major the project supports on Lambda (ESM, fetch, `using`). */
const minimumNodeMajor = 22;

/**
 * The newest Node.js runtime this aws-cdk-lib version knows, chosen the same way cdk-nag's
 * LambdaLatestVersion rule does. Deterministic (unlike `determineLatestNodeRuntime`, which is a per-region
 * mapping in env-agnostic stacks): the template only changes when aws-cdk-lib is upgraded.
 */
export function newestNodeRuntime(): lambda.Runtime {
  let newest: { runtime: lambda.Runtime; major: number } | undefined;
  for (const runtime of lambda.Runtime.ALL) {
    const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
    if (runtime.family !== lambda.RuntimeFamily.NODEJS || runtime.isVariable || major === undefined) continue;
    if (newest === undefined || Number(major) > newest.major) newest = { runtime, major: Number(major) };
  }
  if (newest === undefined || newest.major < minimumNodeMajor) {
    throw new Error(
      `aws-cdk-lib offers no Node.js ${minimumNodeMajor}+ Lambda runtime; upgrade aws-cdk-lib.`,
    );
  }
  return newest.runtime;
}

/** The Node major a runtime runs, for esbuild's `target`. */
function nodeMajor(runtime: lambda.Runtime): number {
  return Number(/^nodejs(\d+)\.x$/.exec(runtime.name)?.[1]);
}

/**
 * Bundled CommonJS dependencies call `require` (of Node built-ins) at run time; an ESM bundle has none, so the
 * banner provides one. The alias avoids clashing with the bundle's own identifiers.
 */
const esmRequireBanner =
  "import { createRequire as __agentMemoryCreateRequire } from 'node:module';" +
  'const require = __agentMemoryCreateRequire(import.meta.url);';

export interface MemoryFunctionProps {
  /** Absolute path of the handler module; it exports `handler`. */
  readonly entry: string;

  /**
   * A description of the function.
   * @default - no description
   */
  readonly description?: string;

  /**
   * Memory in MB; CPU scales with it, which matters most for cold starts.
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * Function timeout. Keep it below API Gateway's 30 s integration timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Environment variables, added to the ones this construct sets (`POWERTOOLS_SERVICE_NAME`,
   * `POWERTOOLS_METRICS_NAMESPACE`), which it may not repeat.
   * @default - none
   */
  readonly environment?: { readonly [key: string]: string };

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * `POWERTOOLS_SERVICE_NAME`: the `service` of every log line, metric and trace.
   * @default 'agent-memory'
   */
  readonly serviceName?: string;

  /**
   * `POWERTOOLS_METRICS_NAMESPACE`: the CloudWatch namespace of the function's custom metrics.
   * @default 'AgentMemory'
   */
  readonly metricsNamespace?: string;

  /**
   * Shell commands run after esbuild, to put files next to the bundle (`outputDir`), e.g. a web page the handler
   * serves.
   * @default - the bundle alone
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

/**
 * The project's one Lambda function shape: newest Node runtime, ARM64, a minified ESM bundle that carries its
 * own AWS SDK (pinned by package-lock.json, not whatever the runtime ships; prebuilt in the published
 * package, bundled at synth from source), source maps, an explicit log group with retention, X-Ray tracing,
 * Powertools configuration, and a role that may only write its own logs until a grant adds more.
 */
export class MemoryFunction extends Construct {
  /** The handler module the function runs (its source path, also in the built package). */
  public readonly entry: string;
  /** The function; pass it to grants. */
  public readonly function: lambda.Function;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The execution role: its log group and X-Ray, plus whatever is granted later. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemoryFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // Not AWSLambdaBasicExecutionRole: that managed policy may write to every log group of the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role: its own log group and X-Ray, plus the table actions its route needs.',
    });
    this.logGroup.grantWrite(this.role);

    // No NODE_OPTIONS=--enable-source-maps: it reads and parses the source map at every cold start. The
    // handlers map a logged error's stack themselves (lambda/http/runtime/source-stacks.ts).
    const ownEnvironment = {
      POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'agent-memory',
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'AgentMemory',
    };
    const clashes = Object.keys(props.environment ?? {}).filter((key) => key in ownEnvironment);
    if (clashes.length > 0) {
      throw new Error(
        `${this.node.path}: environment may not set ${clashes.join(', ')} (set by MemoryFunction).`,
      );
    }

    this.entry = props.entry;
    const runtime = newestNodeRuntime();
    const functionProps = {
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup: this.logGroup,
      role: this.role,
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: { ...props.environment, ...ownEnvironment },
    } satisfies Partial<lambda.FunctionProps>;
    const code = handlerCode(props.entry);
    this.function =
      code === undefined || !('prebuilt' in code)
        ? new nodejs.NodejsFunction(this, 'Function', {
            ...functionProps,
            entry: props.entry,
            handler: 'handler',
            ...code,
            bundling: {
              format: nodejs.OutputFormat.ESM,
              target: `node${nodeMajor(runtime)}`,
              mainFields: ['module', 'main'],
              banner: esmRequireBanner,
              minify: true,
              sourceMap: true,
              logLevel: nodejs.LogLevel.WARNING,
              sourcesContent: false,
              // Bundle the AWS SDK too: the version is the one tested, and only the code used is loaded.
              bundleAwsSDK: true,
              externalModules: [],
              ...(props.afterBundling === undefined
                ? {}
                : {
                    commandHooks: {
                      beforeBundling: () => [],
                      beforeInstall: () => [],
                      afterBundling: (_inputDir: string, outputDir: string) =>
                        props.afterBundling?.(outputDir) ?? [],
                    },
                  }),
            },
          })
        : new lambda.Function(this, 'Function', {
            ...functionProps,
            code: lambda.Code.fromAsset(code.prebuilt),
            handler: 'index.handler',
          });

    // Active tracing, with its permission in a policy of its own: X-Ray's actions take no resource but '*',
    // and acknowledging that finding on this policy alone keeps cdk-nag checking every other statement
    // (the `tracing` prop would put the statement in the role's default policy, next to the table grants).
    const tracingPolicy = new iam.Policy(this, 'TracingPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });
    (this.function.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    this.function.node.addDependency(tracingPolicy);
    Validations.of(tracingPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray trace upload only: xray:PutTraceSegments and xray:PutTelemetryRecords support no ' +
        'resource-level permissions, so their resource must be *. This policy holds nothing else.',
    });
  }
}
