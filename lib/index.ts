/*
 * `agent-memory/construct`: the AgentMemory CDK construct, its props and what its methods take. aws-cdk-lib
 * and constructs are peers you install.
 */
export type { AttachmentAccess, RouteDefinition, RouteFields, TableAccess } from '../lambda/http/routes.js';
export {
  AgentMemory,
  type AgentMemoryAttachments,
  type AgentMemoryAuth,
  type AgentMemoryProps,
  type AgentMemoryThrottling,
  type RouteOptions,
} from './agent-memory.js';
export { type AgentModelProps, type ModelProvider, novaLiteProfiles } from './agent-model.js';
export { AgentMemoryPropsError } from './props-error.js';
