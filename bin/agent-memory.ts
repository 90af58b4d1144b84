import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AgentMemoryStack, ContextError } from '../lib/agent-memory-stack.js';

const app = new App();
// The Region the CLI deploys to (from your AWS configuration), so the stack knows which models it may call;
// without one (an offline synth with no AWS configuration) the template is Region-agnostic.
const region = process.env.CDK_DEFAULT_REGION;
try {
  new AgentMemoryStack(app, 'AgentMemory', region === undefined ? {} : { env: { region } });
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  // A setting given with -c (or in cdk.json) is wrong: one line that says which and how, no stack trace.
  console.error(error.message);
  process.exit(1);
}

// Synthesis fails on any unacknowledged finding; the acknowledgements, with reasons, live next to the resources.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
