import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AgentMemoryStack } from '../lib/agent-memory-stack.js';

// Environment-agnostic on purpose: the same template deploys to whichever account and region the CLI uses.
const app = new App();
new AgentMemoryStack(app, 'AgentMemory');

// Synthesis fails on any unacknowledged finding; the acknowledgements, with reasons, live next to the resources.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
