import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentMemory, type AgentMemoryProps } from '../../lib/agent-memory.js';
import { AgentMemoryStack } from '../../lib/agent-memory-stack.js';

/** Skips esbuild (the assets get a placeholder hash) for tests that only read resource properties. */
const skipBundling = { 'aws:cdk:bundling-stacks': [] };

/**
 * CloudFormation's built-in template validation costs seconds per test file; `npm run synth` runs it on the
 * real app, so the tests leave it out.
 */
function newApp(bundle: boolean | undefined, context: Record<string, unknown> = {}): App {
  return new App({
    builtinCloudFormationValidation: false,
    context: { ...(bundle ? {} : skipBundling), ...context },
  });
}

export interface SynthOptions {
  /** Bundle the functions (slow, seconds); only tests that inspect the assets need it. */
  readonly bundle?: boolean;
  /** The stack's Region, known at synth. @default - Region-agnostic, as an offline `npm run synth` */
  readonly region?: string;
  /** Runs after the construct is created, before synthesis (e.g. `addRoute`, grants). */
  readonly configure?: (memory: AgentMemory, stack: Stack) => void;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly template: Template;
  /** The cloud assembly directory (assets live in `asset.<hash>/`). */
  readonly outdir: string;
}

function synthesize(app: App, stack: Stack): Synthesized {
  const assembly = app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir: assembly.directory };
}

const envOf = (options: SynthOptions) =>
  options.region === undefined ? {} : { env: { region: options.region } };

/** The deployable stack, configured through context like `cdk synth -c key=value`. */
export function synthStack(context: Record<string, unknown> = {}, options: SynthOptions = {}): Synthesized {
  const app = newApp(options.bundle, context);
  const stack = new AgentMemoryStack(app, 'AgentMemory', envOf(options));
  return synthesize(app, stack);
}

/** The construct alone, in a bare stack, with the given props (or props built in that stack). */
export function synthConstruct(
  props: AgentMemoryProps | ((stack: Stack) => AgentMemoryProps) = {},
  options: SynthOptions = {},
): Synthesized {
  const app = newApp(options.bundle);
  const stack = new Stack(app, 'Embedding', envOf(options));
  const memory = new AgentMemory(stack, 'Memory', typeof props === 'function' ? props(stack) : props);
  options.configure?.(memory, stack);
  return synthesize(app, stack);
}

/** Resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Record<string, CfnResourceJson> {
  return template.findResources(type) as Record<string, CfnResourceJson>;
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown> & { readonly [key: string]: unknown };
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of every IAM policy (inline `AWS::IAM::Policy` and roles' inline policies). */
export function allPolicyStatements(
  template: Template,
): Array<{ policy: string; statement: PolicyStatementJson }> {
  const found: Array<{ policy: string; statement: PolicyStatementJson }> = [];
  for (const [id, policy] of Object.entries(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const document = policy.Properties.PolicyDocument as { Statement: PolicyStatementJson[] };
    for (const statement of document.Statement) found.push({ policy: id, statement });
  }
  for (const [id, role] of Object.entries(resourcesOfType(template, 'AWS::IAM::Role'))) {
    const policies = (role.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: PolicyStatementJson[] };
    }>;
    for (const policy of policies) {
      for (const statement of policy.PolicyDocument.Statement) found.push({ policy: id, statement });
    }
  }
  return found;
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: PolicyStatementJson): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** The logical id of a resource from its construct path's last segments (e.g. 'AppendMessages/Function'). */
export function logicalIdOf(stack: Stack, path: string): string {
  const child = stack.node.findAll().find((construct) => construct.node.path.endsWith(`/${path}`));
  if (child === undefined) throw new Error(`No construct at */${path}`);
  const resource = (child.node.defaultChild ?? child) as CfnResource;
  return stack.resolve(resource.logicalId) as string;
}

/** The bundled handler of a function: the `index.mjs` in its staged asset directory (`asset.<hash>`). */
export function bundleOf(
  synthesized: Synthesized,
  functionLogicalId: string,
): { path: string; code: string } {
  const fn = synthesized.template.toJSON().Resources[functionLogicalId] as CfnResourceJson | undefined;
  const s3Key = (fn?.Properties.Code as { S3Key?: unknown } | undefined)?.S3Key;
  const hash = typeof s3Key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(s3Key)?.[1] : undefined;
  if (hash === undefined) throw new Error(`${functionLogicalId} has no file asset`);
  const path = join(synthesized.outdir, `asset.${hash}`, 'index.mjs');
  return { path, code: readFileSync(path, 'utf8') };
}
